"""The colours every document prints in, named for what they mark."""

from reportlab.lib import colors

INK = colors.HexColor("#1f2933")
MUTED = colors.HexColor("#5f6b7a")
RULE = colors.HexColor("#9aa5b1")
SHADE = colors.HexColor("#eef1f4")
MARKING = colors.HexColor("#b42318")
