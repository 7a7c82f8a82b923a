/* ioctl_trace.c: an LD_PRELOAD shim that logs what a program (libcuda) asks NVIDIA's kernel module for.
 *
 * Why: baregrad's own driver (baregrad/device/nv) must make the same resource-manager calls as NVIDIA's user-mode
 * driver. On a lent GPU machine there is no strace; this shim logs every RM alloc (class, parent, parameter
 * bytes, status), control (command, parameter bytes, status), free, memory alloc/map, the UVM ioctls and the
 * mmap()s of device files, so one short run gives the reference sequence to compare ours against offline.
 *
 * Build and use (bench/gpu_check.sh does this):
 *   gcc -shared -fPIC -O1 -o /tmp/ioctl_trace.so bench/ioctl_trace.c -ldl
 *   IOCTL_TRACE=/tmp/trace.txt LD_PRELOAD=/tmp/ioctl_trace.so python3 some_cuda_program.py
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <unistd.h>

#define RM_ALLOC_MEMORY 0x27
#define RM_FREE 0x29
#define RM_CONTROL 0x2A
#define RM_ALLOC 0x2B
#define PARAM_DUMP_MAX 1024
#define ARG_DUMP_MAX 256
#define UVM_DUMP_BYTES 64

typedef int (*ioctl_fn)(int, unsigned long, void *);
typedef void *(*mmap_fn)(void *, size_t, int, int, int, off_t);

static FILE *trace_file(void) {
    static FILE *out;
    if (!out) {
        const char *path = getenv("IOCTL_TRACE");
        out = path ? fopen(path, "a") : NULL;
        if (!out) out = stderr;
    }
    return out;
}

static void hex(FILE *out, const char *label, const void *p, size_t n) {
    const unsigned char *b = p;
    fprintf(out, " %s=", label);
    for (size_t i = 0; i < n; i++) fprintf(out, "%02x", b[i]);
}

static int fd_is(int fd, const char *name) {
    char link[64], target[256] = "";
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    return readlink(link, target, sizeof target - 1) > 0 && strstr(target, name) != NULL;
}

/* The RM argument structs, as in nvos.h: only the fields logged. */
struct rm_alloc { uint32_t root, parent, handle, cls; uint64_t params; uint32_t size, status; };  /* NVOS21 */
struct rm_alloc64 {  /* NVOS64: what libcuda uses; 48 bytes */
    uint32_t root, parent, handle, cls; uint64_t params, rights; uint32_t size, flags, status, pad;
};
struct rm_control { uint32_t client, object, cmd, flags; uint64_t params; uint32_t size, status; };
struct rm_free { uint32_t root, parent, handle, status; };

static void log_rm(FILE *out, unsigned nr, void *arg, const unsigned char *before, size_t size,
                   const unsigned char *params_in, size_t params_n) {
    if (nr == RM_ALLOC && size == sizeof(struct rm_alloc64)) {
        struct rm_alloc64 *a = arg;
        fprintf(out, "ALLOC parent=0x%x new=0x%x class=0x%x psize=%u flags=0x%x status=0x%x", a->parent, a->handle,
                a->cls, a->size, a->flags, a->status);
        if (params_n) hex(out, "params", params_in, params_n);
    } else if (nr == RM_ALLOC) {
        struct rm_alloc *a = arg;
        fprintf(out, "ALLOC parent=0x%x new=0x%x class=0x%x psize=%u status=0x%x", a->parent, a->handle, a->cls,
                a->size, a->status);
        if (params_n) hex(out, "params", params_in, params_n);
    } else if (nr == RM_CONTROL) {
        struct rm_control *c = arg;
        fprintf(out, "CTRL obj=0x%x cmd=0x%x psize=%u status=0x%x", c->object, c->cmd, c->size, c->status);
        if (params_n) hex(out, "in", params_in, params_n);
    } else if (nr == RM_FREE) {
        struct rm_free *f = arg;
        fprintf(out, "FREE parent=0x%x handle=0x%x status=0x%x", f->parent, f->handle, f->status);
    } else {
        fprintf(out, "ESC nr=0x%x size=%zu", nr, size);
        hex(out, "in", before, size);
        hex(out, "out", arg, size);
    }
}

int ioctl(int fd, unsigned long request, ...) {
    static ioctl_fn real;
    va_list ap;
    va_start(ap, request);
    void *arg = va_arg(ap, void *);
    va_end(ap);
    if (!real) real = (ioctl_fn)dlsym(RTLD_NEXT, "ioctl");
    unsigned type = (request >> 8) & 0xff, nr = request & 0xff;
    size_t size = (request >> 16) & 0x3fff;
    int is_nv = type == 'F';
    int is_uvm = !is_nv && arg != NULL && fd_is(fd, "nvidia-uvm");  /* UVM numbers carry no _IOC size */
    if (!is_nv && !is_uvm) return real(fd, request, arg);
    unsigned char before[ARG_DUMP_MAX], params_in[PARAM_DUMP_MAX];
    size_t params_n = 0;
    size_t keep = is_uvm ? UVM_DUMP_BYTES : (size < ARG_DUMP_MAX ? size : ARG_DUMP_MAX);
    memcpy(before, arg, keep);
    if (is_nv && (nr == RM_ALLOC || nr == RM_CONTROL)) {
        uint64_t p = ((struct rm_control *)arg)->params;  /* same offset in NVOS21, NVOS54 and NVOS64 */
        uint32_t n = ((struct rm_control *)arg)->size;
        if (nr == RM_ALLOC && size == sizeof(struct rm_alloc64)) n = ((struct rm_alloc64 *)arg)->size;
        params_n = n < PARAM_DUMP_MAX ? n : PARAM_DUMP_MAX;
        if (p) memcpy(params_in, (void *)(uintptr_t)p, params_n);
        else params_n = 0;
    }
    int ret = real(fd, request, arg);
    FILE *out = trace_file();
    fprintf(out, "fd=%d ret=%d ", fd, ret);
    if (is_uvm) {
        fprintf(out, "UVM cmd=0x%lx", request);
        hex(out, "in", before, keep);
        hex(out, "out", arg, keep);
    } else {
        log_rm(out, nr, arg, before, keep, params_in, params_n);
    }
    fputc('\n', out);
    fflush(out);
    return ret;
}

static void *traced_mmap(void *addr, size_t length, int prot, int flags, int fd, off_t offset) {
    static mmap_fn real;
    if (!real) real = (mmap_fn)dlsym(RTLD_NEXT, "mmap");
    void *got = real(addr, length, prot, flags, fd, offset);
    if (fd >= 0 && fd_is(fd, "nvidia")) {
        FILE *out = trace_file();
        fprintf(out, "MMAP fd=%d addr=%p len=0x%zx prot=%d flags=0x%x off=0x%llx -> %p\n", fd, addr, length, prot,
                flags, (unsigned long long)offset, got);
        fflush(out);
    }
    return got;
}

void *mmap(void *addr, size_t length, int prot, int flags, int fd, off_t offset) {
    return traced_mmap(addr, length, prot, flags, fd, offset);
}

void *mmap64(void *addr, size_t length, int prot, int flags, int fd, off_t offset) {
    return traced_mmap(addr, length, prot, flags, fd, offset);
}
