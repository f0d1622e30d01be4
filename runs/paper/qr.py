"""QR codes drawn as vector squares straight onto a reportlab canvas (no images)."""

import segno
from reportlab.platypus import Flowable

# The blank margin scanners need around the code, in modules (ISO/IEC 18004).
QUIET_ZONE = 4


def draw_qr(canvas, data: str, x: float, y: float, size: float) -> None:
    """Draw `data` as a QR code in the square of `size` points whose lower left is (x, y).

    The square includes the quiet zone. Each row's consecutive dark modules are one rectangle,
    so a code is a few hundred path operations, not one per module.
    """
    matrix = segno.make_qr(data, error="m").matrix
    module = size / (len(matrix) + 2 * QUIET_ZONE)
    path = canvas.beginPath()
    for row_number, row in enumerate(matrix):
        top = y + size - (QUIET_ZONE + row_number + 1) * module
        start = None
        for column, dark in enumerate((*row, 0)):
            if dark and start is None:
                start = column
            elif not dark and start is not None:
                path.rect(x + (QUIET_ZONE + start) * module, top, (column - start) * module, module)
                start = None
    canvas.saveState()
    canvas.setFillColorRGB(0, 0, 0)
    canvas.drawPath(path, stroke=0, fill=1)
    canvas.restoreState()


class QRCode(Flowable):
    """A QR code of `data` as a square flowable of `size` points, quiet zone included."""

    def __init__(self, data: str, size: float):
        super().__init__()
        self.data = data
        self.width = self.height = size

    def wrap(self, available_width, available_height):
        return self.width, self.height

    def draw(self):
        draw_qr(self.canv, self.data, 0, 0, self.width)
