"""GPU kernel source writers: CUDA C, OpenCL C and WGSL, from a linear program and its launch plan."""
