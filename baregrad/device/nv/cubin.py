"""Read an nvcc cubin (CUDA ELF): the kernel's code image, entry offset, parameter layout and resource needs.

The ELF container is standard (ELF64, little endian). The .nv.info attribute ids below are not in NVIDIA's open
headers; their names follow cuobjdump's EIATTR_* names and their layouts were checked against nvcc 13 output
(tests/device/nv/test_cubin.py compiles kernels and checks every number read here).
"""
from __future__ import annotations

import struct
from dataclasses import dataclass, field
from enum import IntEnum

from ...errors import FormatError

EM_CUDA = 190
SHT_PROGBITS, SHT_SYMTAB, SHT_RELA, SHT_NOBITS = 1, 2, 4, 8
SHF_ALLOC = 0x2
SECTION_ALIGN = 128  # code must sit on 128-byte boundaries; constants are happy with that too


class EiAttr(IntEnum):
    """.nv.info attribute ids (cuobjdump names)."""
    PARAM_CBANK = 0x0A       # u32 symbol of .nv.constant0.<k>, u16 param offset in bank 0, u16 param bytes
    FRAME_SIZE = 0x11        # u32 function symbol, u32 bytes of per-thread stack frame
    MIN_STACK_SIZE = 0x12    # u32 function symbol, u32 bytes
    KPARAM_INFO = 0x17       # u32 index, u16 ordinal, u16 offset, u32 flags (size in bits 31:18)
    CBANK_PARAM_SIZE = 0x19  # u16 total parameter bytes
    MAX_STACK_SIZE = 0x23    # u32 function symbol, u32 bytes
    REGCOUNT = 0x2F          # u32 function symbol, u32 registers per thread


class RelocType(IntEnum):
    """CUDA relocation types the loader applies (values as nvcc emits them)."""
    R_CUDA_64 = 2             # 64-bit absolute address
    R_CUDA_ABS32_LO_32 = 0x38  # low 32 bits of the address, into the instruction's upper word
    R_CUDA_ABS32_HI_32 = 0x39  # high 32 bits of the address, likewise


EIFMT_NVAL, EIFMT_BVAL, EIFMT_HVAL, EIFMT_SVAL = 1, 2, 3, 4


@dataclass(frozen=True)
class KernelParam:
    ordinal: int  # position in the source's parameter list
    offset: int   # byte offset inside the parameter area
    size: int     # bytes


@dataclass
class Section:
    index: int
    name: str
    type: int
    flags: int
    offset: int
    size: int
    link: int
    info: int
    align: int


@dataclass
class Reloc:
    image_offset: int  # where in the image to patch
    target: int        # image offset of the referenced symbol plus addend
    type: int


@dataclass
class CubinKernel:
    """Everything the driver needs to load and launch one kernel of a cubin."""
    name: str
    sm: int                       # e.g. 90 for sm_90
    image: bytes                  # loadable sections laid out back to back
    entry_offset: int             # kernel start inside image
    code_size: int                # bytes of the kernel's own code (its symbol size)
    params: list[KernelParam]
    param_base: int               # where parameters start in constant bank 0 (0x210 on sm_90, 0x160 on sm_8x)
    param_bytes: int
    cbuf0_bytes: int              # size of constant bank 0 the kernel expects
    registers: int
    shared_bytes: int
    local_bytes: int              # per-thread local memory (frame + stack)
    cbufs: dict[int, tuple[int, int]] = field(default_factory=dict)  # bank -> (image offset, size), banks != 0
    relocs: list[Reloc] = field(default_factory=list)

    def relocated_image(self, base_va: int) -> bytes:
        """The image with absolute addresses patched for a load at `base_va`."""
        image = bytearray(self.image)
        for r in self.relocs:
            address = base_va + r.target
            if r.type == RelocType.R_CUDA_64:
                struct.pack_into("<Q", image, r.image_offset, address)
            elif r.type == RelocType.R_CUDA_ABS32_LO_32:
                struct.pack_into("<I", image, r.image_offset + 4, address & 0xFFFFFFFF)
            else:
                struct.pack_into("<I", image, r.image_offset + 4, address >> 32)
        return bytes(image)


class _Elf:
    """Bounds-checked view of an ELF64 file."""

    def __init__(self, data: bytes):
        self.data = data
        if len(data) < 64 or data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
            raise FormatError("cubin: not a little-endian ELF64 file (offset 0)")
        self.machine, = self.unpack("<H", 0x12)
        if self.machine != EM_CUDA:
            raise FormatError(f"cubin: e_machine {self.machine} is not EM_CUDA (190) (offset 0x12)")
        self.flags, = self.unpack("<I", 0x30)
        shoff, = self.unpack("<Q", 0x28)
        shentsize, shnum, shstrndx = self.unpack("<HHH", 0x3A)
        if shentsize != 64 or shstrndx >= shnum:
            raise FormatError(f"cubin: bad section header table (offset 0x{shoff:x})")
        raw = [self.unpack("<IIQQQQIIQQ", shoff + i * 64) for i in range(shnum)]
        strtab = raw[shstrndx]
        self.sections = [Section(i, self.cstr(strtab[4], strtab[5], s[0]), s[1], s[2], s[4], s[5], s[6], s[7], s[8])
                         for i, s in enumerate(raw)]
        for s in self.sections:
            if s.type != SHT_NOBITS and s.offset + s.size > len(data):
                raise FormatError(f"cubin: section {s.name} runs past the end of the file (offset 0x{s.offset:x})")

    def unpack(self, fmt: str, offset: int) -> tuple:
        if offset < 0 or offset + struct.calcsize(fmt) > len(self.data):
            raise FormatError(f"cubin: truncated at offset 0x{offset:x}")
        return struct.unpack_from(fmt, self.data, offset)

    def cstr(self, table_offset: int, table_size: int, index: int) -> str:
        start = table_offset + index
        end = self.data.find(b"\0", start, table_offset + table_size)
        if index >= table_size or end < 0:
            raise FormatError(f"cubin: bad string index {index} (offset 0x{start:x})")
        return self.data[start:end].decode("utf-8", "replace")

    def content(self, s: Section) -> bytes:
        return self.data[s.offset:s.offset + s.size]

    def symbols(self) -> list[tuple[str, int, int, int, int]]:
        """(name, value, section index, info, size) for every symbol."""
        symtab = next((s for s in self.sections if s.type == SHT_SYMTAB), None)
        if symtab is None:
            raise FormatError("cubin: no symbol table")
        strtab = self.sections[symtab.link]
        out = []
        for off in range(symtab.offset, symtab.offset + symtab.size, 24):
            name, info, _other, shndx, value, size = self.unpack("<IBBHQQ", off)
            out.append((self.cstr(strtab.offset, strtab.size, name), value, shndx, info, size))
        return out


def _nv_info_records(data: bytes, base: int) -> list[tuple[int, bytes]]:
    """(attribute, payload) records of one .nv.info section."""
    records, off = [], 0
    while off + 4 <= len(data):
        fmt, attr = data[off], data[off + 1]
        if fmt == EIFMT_SVAL:
            size, = struct.unpack_from("<H", data, off + 2)
            if off + 4 + size > len(data):
                raise FormatError(f"cubin: .nv.info record runs past its section (offset 0x{base + off:x})")
            records.append((attr, data[off + 4:off + 4 + size]))
            off += 4 + size
        elif fmt in (EIFMT_NVAL, EIFMT_BVAL, EIFMT_HVAL):
            records.append((attr, data[off + 2:off + 4]))
            off += 4
        else:
            raise FormatError(f"cubin: unknown .nv.info record format {fmt} (offset 0x{base + off:x})")
    return records


def _layout(elf: _Elf) -> dict[int, int]:
    """Image offset of every loadable section (constant bank 0 is per launch, so it is not loaded)."""
    offsets, cursor = {}, 0
    for s in elf.sections:
        if s.type != SHT_PROGBITS or not s.flags & SHF_ALLOC or s.name.startswith(".nv.constant0"):
            continue
        align = max(SECTION_ALIGN, s.align)
        cursor = (cursor + align - 1) // align * align
        offsets[s.index] = cursor
        cursor += s.size
    return offsets


def _relocs(elf: _Elf, offsets: dict[int, int], symbols: list) -> list[Reloc]:
    out = []
    for s in elf.sections:
        if s.type != SHT_RELA or s.info not in offsets:
            continue
        for off in range(s.offset, s.offset + s.size, 24):
            r_offset, r_info, addend = elf.unpack("<QQq", off)
            rtype, sym = r_info & 0xFFFFFFFF, r_info >> 32
            if rtype not in RelocType.__members__.values():
                raise FormatError(f"cubin: unsupported relocation type {rtype:#x} (offset 0x{off:x})")
            if sym >= len(symbols) or symbols[sym][2] not in offsets:
                raise FormatError(f"cubin: relocation against unloaded symbol {sym} (offset 0x{off:x})")
            target = offsets[symbols[sym][2]] + symbols[sym][1] + addend
            out.append(Reloc(offsets[s.info] + r_offset, target, rtype))
    return out


def _image(elf: _Elf, offsets: dict[int, int]) -> bytes:
    size = max((offsets[i] + elf.sections[i].size for i in offsets), default=0)
    image = bytearray(size)
    for i, off in offsets.items():
        image[off:off + elf.sections[i].size] = elf.content(elf.sections[i])
    return bytes(image)


def _per_function(elf: _Elf, sym_index: int) -> dict[int, int]:
    """Attributes of the whole-file .nv.info that name our function symbol: attr -> value."""
    out: dict[int, int] = {}
    for s in elf.sections:
        if s.name != ".nv.info":
            continue
        for attr, payload in _nv_info_records(elf.content(s), s.offset):
            if len(payload) == 8 and struct.unpack_from("<I", payload)[0] == sym_index:
                out[attr] = struct.unpack_from("<I", payload, 4)[0]
    return out


def _kernel_info(elf: _Elf, text_index: int) -> tuple[list[KernelParam], int, int]:
    """(params, param_base, param_bytes) from .nv.info.<kernel>."""
    params, base, nbytes = [], None, 0
    for s in elf.sections:
        if not s.name.startswith(".nv.info.") or s.info != text_index:
            continue
        for attr, payload in _nv_info_records(elf.content(s), s.offset):
            if attr == EiAttr.KPARAM_INFO and len(payload) >= 12:
                _index, ordinal, offset, flags = struct.unpack_from("<IHHI", payload)
                params.append(KernelParam(ordinal, offset, (flags >> 18) & 0x3FFF))
            elif attr == EiAttr.PARAM_CBANK and len(payload) >= 8:
                _sym, base, nbytes = struct.unpack_from("<IHH", payload)
            elif attr == EiAttr.CBANK_PARAM_SIZE:
                nbytes = max(nbytes, struct.unpack_from("<H", payload)[0])
    if base is None:
        raise FormatError(f"cubin: no EIATTR_PARAM_CBANK for section {elf.sections[text_index].name}")
    return sorted(params, key=lambda p: p.ordinal), base, nbytes


def _section_named(elf: _Elf, name: str) -> Section | None:
    return next((s for s in elf.sections if s.name == name), None)


def parse_cubin(data: bytes, name: str) -> CubinKernel:
    """Parse `data` (an sm_XX cubin) and describe kernel `name` (its extern "C" symbol)."""
    elf = _Elf(data)
    symbols = elf.symbols()
    found = [(i, s) for i, s in enumerate(symbols) if s[0] == name and (s[3] & 0xF) == 2]  # STT_FUNC
    if not found:
        kernels = sorted(s[0] for s in symbols if (s[3] & 0xF) == 2)
        raise FormatError(f"cubin: no kernel named {name!r}; kernels present: {kernels}")
    sym_index, (_n, value, text_index, _info, code_size) = found[0]
    offsets = _layout(elf)
    if text_index not in offsets:
        raise FormatError(f"cubin: kernel {name!r} lives in an unloadable section {text_index}")
    params, param_base, param_bytes = _kernel_info(elf, text_index)
    per_fn = _per_function(elf, sym_index)
    text = elf.sections[text_index]
    shared = _section_named(elf, f".nv.shared.{name}")
    cbuf0 = _section_named(elf, f".nv.constant0.{name}")
    cbufs = {int(s.name.split(".")[2][8:]): (offsets[s.index], s.size) for s in elf.sections
             if s.index in offsets and s.name.startswith(".nv.constant") and s.name.split(".")[2][8:].isdigit()}
    return CubinKernel(
        name=name, sm=(elf.flags >> 8) & 0xFF, image=_image(elf, offsets), entry_offset=offsets[text_index] + value,
        code_size=code_size or elf.sections[text_index].size - value,
        params=params, param_base=param_base, param_bytes=param_bytes,
        cbuf0_bytes=cbuf0.size if cbuf0 else param_base + param_bytes,
        registers=per_fn.get(EiAttr.REGCOUNT, text.info >> 24),
        shared_bytes=shared.size if shared else 0,
        local_bytes=per_fn.get(EiAttr.FRAME_SIZE, 0) + per_fn.get(EiAttr.MAX_STACK_SIZE, 0),
        cbufs=cbufs, relocs=_relocs(elf, offsets, symbols))
