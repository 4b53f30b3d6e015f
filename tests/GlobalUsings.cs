// Namespaces most test files use.
global using NUnit.Framework;
global using SpikeEngine.Tensors;
global using SpikeEngine.Backend;
global using SpikeEngine.IO;
global using SpikeEngine.Nn;
global using SpikeEngine.Nn.Models;
global using SpikeEngine.Data;
global using System.Text.Json;
global using SpikeEngine.Snn;
global using SpikeEngine.Autograd;
