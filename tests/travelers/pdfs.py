"""Reading PDFs back as a person would: the text of each page, and the QR codes on it."""

import io

import pypdf
import pypdfium2
import zxingcpp


def page_texts(content: bytes) -> list[str]:
    return [page.extract_text() for page in pypdf.PdfReader(io.BytesIO(content)).pages]


def page_codes(content: bytes) -> list[list[str]]:
    """The QR codes of each page, decoded from the page rendered at 216 dpi, top to bottom."""
    codes = []
    for page in pypdfium2.PdfDocument(content):
        image = page.render(scale=3).to_pil()
        found = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
        codes.append(
            [
                code.text
                for code in sorted(found, key=lambda c: (c.position.top_left.y, c.position.top_left.x))
            ]
        )
    return codes


def fonts_used(content: bytes) -> set[str]:
    """The base font names every page uses, subset prefixes (ABCDEF+) dropped."""
    names = set()
    for page in pypdf.PdfReader(io.BytesIO(content)).pages:
        for font in page["/Resources"]["/Font"].values():
            names.add(str(font.get_object()["/BaseFont"]).lstrip("/").split("+")[-1])
    return names
