"""letters: the capital letters A-J in every typeface of 38 Debian font packages, one 28x28
grayscale PNG per (face, letter), white glyph on black — notMNIST (Bulatov 2011) rebuilt from
fonts that Debian ships.

Source: the TrueType/OpenType files of the packages in PACKAGES (`dpkg-query -L`, so fonts that
other packages put on the machine are never used). Licences, from /usr/share/doc/PKG/copyright:
SIL OFL 1.1 for most (Noto, Liberation 2, Lato, Carlito, Caladea, Cantarell, EB Garamond, Fira Code,
League Mono, Cabin, Quattrocento, Comic Neue, Yanone Kaffeesatz, Blankenburg, Dancing Script, Lobster,
Lobster Two, Ecolier; Jura GPL-3 or OFL 1.1); Apache-2.0 (Open Sans); the Bitstream Vera licence
(DejaVu; Hack with MIT); AGPL-3 with font exception (URW base35); GPL with font exception (FreeFont,
Linux Libertine (also OFL), ADF Gillius and Baskervald, Purisa, Rufscript); GPL-3 (Beteckna; DKG
Handwriting also OFL); GPL-2+/OFL-1.0 (Breip); LGPL-2+ (Isabella); CC-BY-SA-3 (Femke Klaver); public
domain (OCR-A, Goudy Bookletter 1911); OCR-B is permissive.

Faces skipped, and why (counted in the build log): a face that cannot be loaded; a face whose A-J
render empty or as its .notdef glyph (tofu: the script fonts of fonts-noto-core have no Latin);
a face whose ten glyphs are not all different; a symbol font that maps A-J to other symbols
(SYMBOL_FACES); a face whose ten renders equal an earlier face's (the same font twice).

Classes: A B C D E F G H I J, one image per face each, so exactly balanced (294 faces, 2,940 images).
Each glyph is cropped to its ink, scaled (Lanczos) so its longer side is 24 px, and centred.

Partitions: by font package, 80/10/10 of the images; packages of one family or of derived
families go together (GROUP_OF). The faces of one family are never split between TRAIN and TEST, so
TEST measures unseen typefaces (no image of TEST is byte-identical to one of TRAIN).

Why it is in the suite: uniform tiny grayscale images like Fashion-MNIST, but a task where the
service's default random horizontal flip is wrong (a mirrored J or F is not a J or F), where classes
differ by fine stroke structure and the styles range from monospace to blackletter and handwriting,
and where TEST is a distribution shift (new typefaces).
"""
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from . import common

NAME = "letters"
LETTERS = "ABCDEFGHIJ"
SIZE = 28
GLYPH = 24  # the longer side of the glyph's ink, in pixels
RENDER_PX = 64  # font size the glyph is rendered at before it is scaled down
NOT_A_CHARACTER = "\U0010FFFD"  # a private-use code point no Latin font maps: renders .notdef
SEED = "letters-v1"

PACKAGES = [
    "fonts-dejavu-core", "fonts-dejavu-extra", "fonts-liberation2", "fonts-freefont-ttf",
    "fonts-urw-base35", "fonts-noto-core", "fonts-crosextra-carlito", "fonts-crosextra-caladea",
    "fonts-open-sans", "fonts-cantarell", "fonts-linuxlibertine", "fonts-lato", "fonts-ebgaramond",
    "fonts-hack", "fonts-firacode", "fonts-league-mono", "fonts-cabin", "fonts-jura",
    "fonts-adf-gillius", "fonts-adf-baskervald", "fonts-quattrocento", "fonts-goudybookletter",
    "fonts-comic-neue", "fonts-dkg-handwriting", "fonts-breip", "fonts-yanone-kaffeesatz",
    "fonts-beteckna", "fonts-blankenburg", "fonts-dancingscript", "fonts-lobster", "fonts-lobstertwo",
    "fonts-isabella", "fonts-femkeklaver", "fonts-ecolier-court", "fonts-ocr-a", "fonts-ocr-b",
    "fonts-rufscript", "fonts-tlwg-purisa-ttf",
]
# Packages that ship one family between them, or a family derived from another's, partition
# together: Hack is DejaVu Sans Mono modified (some glyphs are identical), FreeSans/Serif/Mono derive
# from URW's Nimbus fonts, Carlito from Lato.
GROUP_OF = {
    "fonts-dejavu-extra": "fonts-dejavu-core",
    "fonts-hack": "fonts-dejavu-core",
    "fonts-freefont-ttf": "fonts-urw-base35",
    "fonts-crosextra-carlito": "fonts-lato",
}
# Fonts whose cmap maps the ASCII letters to symbols (FreeType renders them, so no tofu test sees it).
SYMBOL_FACES = {"D050000L": "dingbats", "Standard Symbols PS": "Greek symbols"}


def font_files():
    """(package, path) of every .ttf/.otf of PACKAGES, each file once, in package order."""
    return [(package, path) for package in PACKAGES
            for path in common.package_files(package, (".ttf", ".otf"))]


def ink(font, text):
    """The glyph(s) of `text` rendered white on black, cropped to the ink; None when blank."""
    left, top, right, bottom = font.getbbox(text)
    canvas = Image.new("L", (max(1, right - left) + 8, max(1, bottom - top) + 8))
    ImageDraw.Draw(canvas).text((4 - left, 4 - top), text, fill=255, font=font)
    box = canvas.getbbox()
    return canvas.crop(box) if box else None


def same(a, b):
    return a is not None and b is not None and a.size == b.size and a.tobytes() == b.tobytes()


def fit(glyph):
    """`glyph` scaled so its longer side is GLYPH pixels, centred on a SIZE x SIZE black square."""
    scale = GLYPH / max(glyph.size)
    w, h = (max(1, round(side * scale)) for side in glyph.size)
    small = glyph.resize((w, h), Image.Resampling.LANCZOS)
    square = Image.new("L", (SIZE, SIZE))
    square.paste(small, ((SIZE - w) // 2, (SIZE - h) // 2))
    return square


def render_face(path):
    """The ten fitted letters of the font at `path`, or the reason the face is skipped."""
    try:
        font = ImageFont.truetype(path, RENDER_PX)
    except OSError as error:
        return None, f"cannot load ({error})"
    family = font.getname()[0]
    if family in SYMBOL_FACES:
        return None, f"symbol font ({SYMBOL_FACES[family]} on A-J)"
    glyphs = [ink(font, letter) for letter in LETTERS]
    if any(g is None for g in glyphs):
        return None, "a letter renders empty"
    notdef = ink(font, NOT_A_CHARACTER)
    if any(same(g, notdef) for g in glyphs):
        return None, "no Latin letters (renders .notdef)"
    if len({g.tobytes() + bytes(g.size) for g in glyphs}) < len(LETTERS):
        return None, "two letters render the same"
    return [fit(g) for g in glyphs], None


def build(out):
    """Writes the images and returns the manifest rows [(set, path, label)]."""
    faces, skipped, seen, stems = [], {}, set(), set()
    for package, path in font_files():
        images, reason = render_face(path)
        if images is not None:
            fingerprint = b"".join(image.tobytes() for image in images)
            if fingerprint in seen:
                images, reason = None, "renders exactly as an earlier face"
            seen.add(fingerprint)
        if images is None:
            skipped[reason.split(" (")[0]] = skipped.get(reason.split(" (")[0], 0) + 1
            continue
        stem = Path(path).stem
        if stem in stems:
            raise SystemExit(f"two faces named {stem}: give them distinct names")
        stems.add(stem)
        faces.append((GROUP_OF.get(package, package), stem, images))
    sizes = {}
    for group, _, _ in faces:
        sizes[group] = sizes.get(group, 0) + len(LETTERS)
    partition = common.assign_groups(sizes, SEED)
    rows = []
    for group, stem, images in faces:
        for letter, image in zip(LETTERS, images):
            relative = f"images/{letter}/{stem}.png"
            (out / "images" / letter).mkdir(parents=True, exist_ok=True)
            image.save(out / relative)
            rows.append((partition[group], relative, letter))
    print(f"letters: {len(faces)} faces from {len(sizes)} package groups; skipped "
          + ", ".join(f"{n} × {why}" for why, n in sorted(skipped.items())))
    return rows
