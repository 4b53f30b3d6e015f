# Prints "name 0|1" for every extern "C" __global__ kernel of the given sources: 1 when its body can reach a
# block or warp barrier (__syncthreads, __syncwarp, a __shfl_*), directly or through a function of the same
# sources that can (transitively). Used by build.sh: barrier-free kernels run without fibers.
# Top-level functions are split by brace depth; a function's name is the identifier before its first '('.
{
    line = $0
    if (continued || line ~ /^[ \t]*#/) { continued = (line ~ /\\$/); next }  # preprocessor lines (and their continuations)
    sub(/\/\/.*/, "", line)                       # line comments
    for (i = 1; i <= length(line); i++) {
        c = substr(line, i, 1)
        if (depth == 0) {
            if (c == "{") { depth = 1; name = header_name(header); body[name] = ""; kernel[name] = (header ~ /extern "C" __global__/); header = ""; continue }
            if (c == ";") { header = ""; continue }
            header = header c
        } else {
            if (c == "{") depth++
            else if (c == "}") { depth--; if (depth == 0) { order[++n] = name; continue } }
            body[name] = body[name] c
        }
    }
    if (depth == 0) header = header " "; else body[name] = body[name] " "
}
function header_name(h,   p, s) {
    p = index(h, "(")
    s = substr(h, 1, p - 1)
    sub(/[ \t]+$/, "", s)
    n2 = split(s, parts, /[^A-Za-z0-9_]+/)
    return parts[n2]
}
END {
    for (f in body) if (body[f] ~ /__syncthreads|__syncwarp|__shfl/) barrier[f] = 1
    changed = 1
    while (changed) {
        changed = 0
        for (f in body) if (!(f in barrier)) for (g in barrier) if (body[f] ~ ("(^|[^A-Za-z0-9_])" g "[ \t]*[<(]")) { barrier[f] = 1; changed = 1; break }
    }
    if (ENVIRON["SCAN_DEBUG"]) for (g in barrier) print "barrier: [" g "]" > "/dev/stderr"
    for (i = 1; i <= n; i++) { f = order[i]; if (kernel[f]) print f, (f in barrier) ? 1 : 0 }
}
