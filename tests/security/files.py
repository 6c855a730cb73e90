"""Hostile files, built in code: small on the wire, enormous once decoded."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib

MB = 1024 * 1024


def spaces_deflated(size: int) -> tuple[bytes, int, int]:
    """``size`` bytes of spaces (a whole number of MB) as raw deflate data, with the CRC-32
    and Adler-32 of what it decodes to. One compressed megabyte ending in a full flush
    (byte-aligned, referring to nothing before it) repeated: a bomb of any size at once."""
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    unit = b" " * MB
    block = packer.compress(unit) + packer.flush(zlib.Z_FULL_FLUSH)
    end = packer.flush(zlib.Z_FINISH)
    crc, adler = 0, 1
    for _ in range(size // MB):
        crc, adler = zlib.crc32(unit, crc), zlib.adler32(unit, adler)
    return block * (size // MB) + end, crc, adler


def zlib_spaces(size: int) -> bytes:
    """``size`` bytes of spaces as a zlib stream (a PDF's FlateDecode)."""
    raw, _, adler = spaces_deflated(size)
    return b"\x78\xda" + raw + struct.pack(">I", adler)


def pdf(objects: list[bytes]) -> bytes:
    """A PDF of the given objects (numbered from 1; object 1 the catalog) with a correct
    cross-reference table."""
    out = io.BytesIO()
    out.write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\n" % (len(objects) + 1))
    out.write(b"startxref\n%d\n%%%%EOF\n" % xref)
    return out.getvalue()


def pdf_stream_bomb(decoded: int = 400 * MB) -> bytes:
    """One page whose content stream inflates to ``decoded`` bytes of whitespace."""
    stream = zlib_spaces(decoded)
    return pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>",
            b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream)
            + stream
            + b"\nendstream",
        ]
    )


def pdf_giant_image(width: int = 40_000, height: int = 40_000) -> bytes:
    """One page drawing a 1-bit image that declares ``width`` x ``height`` pixels (1.6
    gigapixels by default) in a few bytes of CCITT data."""
    image = b"\x00" * 16
    content = b"q 595 0 0 842 0 0 cm /Im1 Do Q"
    return pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
            b"/Resources << /XObject << /Im1 5 0 R >> >> >>",
            b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
            b"<< /Type /XObject /Subtype /Image /Width %d /Height %d /BitsPerComponent 1 "
            % (width, height)
            + b"/ColorSpace /DeviceGray /Filter /CCITTFaxDecode /DecodeParms << /K -1 "
            + b"/Columns %d /Rows %d >> /Length %d >>\nstream\n" % (width, height, len(image))
            + image
            + b"\nendstream",
        ]
    )


def huge_png(width: int, height: int) -> bytes:
    """A real, complete PNG of width x height 1-bit pixels: small on disk, huge decoded."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    row = b"\x00" + b"\x00" * ((width + 7) // 8)
    packer = zlib.compressobj(9)
    idat = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )


def word_file(paragraphs: list[str]) -> bytes:
    import docx

    document = docx.Document()
    for text in paragraphs:
        document.add_paragraph(text)
    buf = io.BytesIO()
    document.save(buf)
    return buf.getvalue()


def word_bomb(decoded: int = 300 * MB) -> bytes:
    """A Word file whose main part really unpacks to ``decoded`` bytes of whitespace."""
    original = zipfile.ZipFile(io.BytesIO(word_file(["A manual."])))
    parts = [(i.filename, original.read(i)) for i in original.infolist()]
    raw, crc, _ = spaces_deflated(decoded)
    out = io.BytesIO()
    central = []

    def add(name: bytes, data: bytes, crc: int, size: int) -> None:
        header = struct.pack(
            "<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0x21, crc, len(data), size, len(name), 0
        )
        central.append(
            struct.pack(
                "<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, 0, 0x21, crc, len(data), size,
                len(name), 0, 0, 0, 0, 0, out.tell(),
            ) + name
        )  # fmt: skip
        out.write(header + name + data)

    for name, data in parts:
        if name == "word/document.xml":
            add(name.encode(), raw, crc, decoded)
        else:
            packer = zlib.compressobj(9, zlib.DEFLATED, -15)
            add(name.encode(), packer.compress(data) + packer.flush(), zlib.crc32(data), len(data))
    start = out.tell()
    out.write(b"".join(central))
    count = len(central)
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, count, count, out.tell() - start, start, 0)
    out.write(end)
    return out.getvalue()
