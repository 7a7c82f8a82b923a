"""The viz page: a local web page (stdlib HTTP server, plain HTML/JS/SVG in this folder) showing what the
profiler recorded: each schedule's graph cut into kernels, the kernels' programs and sources, the timeline."""
