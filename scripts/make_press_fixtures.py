"""Write the PDF fixtures of tests/data/press/ (committed; run again only to change them).

Run: .venv/bin/pip install fpdf2 && .venv/bin/python scripts/make_press_fixtures.py
A text PDF of a press release, set in DejaVu Sans (Debian's fonts-dejavu) so that its Vietnamese
text layer is real, with lines wrapped at the margin as PDFs have them; and a scanned one: the
same page as an image only, with no text layer.
"""
from __future__ import annotations

import io
from pathlib import Path

from fpdf import FPDF
from PIL import Image, ImageDraw

OUT = Path(__file__).resolve().parents[1] / "tests" / "data" / "press"
FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
TITLE = "Thông cáo báo chí về Hội nghị Bộ trưởng Ngoại giao ASEAN lần thứ 54"
BODY = [
    "Hà Nội, ngày 2/8/2021",
    "Ngày 2/8/2021, Bộ trưởng Ngoại giao Bùi Thanh Sơn dẫn đầu Đoàn Việt Nam tham dự Hội nghị Bộ trưởng "
    "Ngoại giao ASEAN lần thứ 54 theo hình thức trực tuyến, dưới sự chủ trì của Brunei.",
    "Các Bộ trưởng nhất trí bổ nhiệm Bộ trưởng Ngoại giao thứ hai Brunei Erywan Yusof làm Đặc phái viên "
    "của Chủ tịch ASEAN về Myanmar, và hoan nghênh các nước đóng góp 10,5 triệu USD cho Quỹ ứng phó "
    "COVID-19 của ASEAN.",
    "Bộ Ngoại giao",
]


def text_pdf() -> bytes:
    pdf = FPDF()
    pdf.set_title(TITLE)
    pdf.add_page()
    pdf.add_font("DejaVu", fname=str(FONT))
    pdf.set_font("DejaVu", size=14)
    pdf.multi_cell(0, 8, TITLE)
    pdf.set_font("DejaVu", size=11)
    for paragraph in BODY:
        pdf.ln(3)
        pdf.multi_cell(0, 6, paragraph)  # wrapped at the margin: one PDF line per visual line
    return bytes(pdf.output())


def scanned_pdf() -> bytes:
    page = Image.new("L", (600, 300), 255)
    ImageDraw.Draw(page).text((20, 20), "THONG CAO BAO CHI (scan)", fill=0)
    png = io.BytesIO()
    page.save(png, format="PNG")
    pdf = FPDF()
    pdf.add_page()
    pdf.image(io.BytesIO(png.getvalue()), x=10, y=10, w=180)
    return bytes(pdf.output())


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "thong-cao.pdf").write_bytes(text_pdf())
    (OUT / "ban-quet.pdf").write_bytes(scanned_pdf())
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
