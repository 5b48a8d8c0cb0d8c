"""icons: desktop icons of six Debian icon themes, labelled by the freedesktop.org context folder
the theme files them under (actions, apps, categories, devices, emblems, emotes, mimetypes,
places, status). The PNG files are copied byte for byte: colour, alpha channel, palette and
grayscale PNGs as the themes ship them, 16 to 256 pixels square.

Source (licences from /usr/share/doc/PKG/copyright): adwaita-icon-theme (CC-BY-SA-3.0 or LGPL-3),
gnome-icon-theme (GPL-2+), mate-icon-theme (LGPL-3+ or CC-BY-SA), oxygen-icon-theme (LGPL-3+),
tango-icon-theme (public domain), lxde-icon-theme's nuoveXT2 (LGPL-3+). Only PNG files that are not
symbolic links, under a size folder of 16x16 to 256x256 and one of the nine contexts.

Selection: identical files (the same bytes in two themes or two folders) are kept once; each icon
(theme, context, name; a "-symbolic" variant counts as the same name) appears once, at one of its
sizes chosen by a keyed hash; a context with more than CAP icons is subsampled the same way.

Classes: the nine contexts, from 83 images (emblems) to CAP = 450 (actions, status); 2,219 in all.

Partitions: by icon name across themes and contexts (80/10/10 of the images), so `edit-copy` of
every theme lands in one partition: the themes draw many icons alike, and the same name at two
sizes or in two themes in TRAIN and TEST would leak.

Why it is in the suite: colour with an alpha channel (composited onto white by the service), sizes
that differ from image to image (the letterboxing path), line-art with no texture, classes defined
by function rather than by look (a printer can be a device or an action), six different drawing
styles, and moderate natural imbalance.
"""
import hashlib
import re
import shutil
from pathlib import Path

from . import common

NAME = "icons"
THEMES = {  # package: the short name used in file names
    "adwaita-icon-theme": "adwaita",
    "gnome-icon-theme": "gnome",
    "mate-icon-theme": "mate",
    "oxygen-icon-theme": "oxygen",
    "tango-icon-theme": "tango",
    "lxde-icon-theme": "nuovext2",
}
PACKAGES = list(THEMES)
CONTEXTS = ("actions", "apps", "categories", "devices", "emblems", "emotes", "mimetypes", "places", "status")
MIN_SIDE, MAX_SIDE = 16, 256
CAP = 450
SEED = "icons-v1"
SIZE_FOLDER = re.compile(r"^(\d+)x(\d+)$")


def parse(path):
    """(context, name, side) of an icon file, or None when it is not one the set uses. Themes put
    the size folder before the context (16x16/actions) or after it (actions/16x16)."""
    parts = Path(path).parts
    for i, part in enumerate(parts):
        match = SIZE_FOLDER.match(part)
        if not match or match.group(1) != match.group(2):
            continue
        side = int(match.group(1))
        contexts = [p for p in (parts[i + 1], parts[i - 1]) if p in CONTEXTS]
        if not contexts or not MIN_SIDE <= side <= MAX_SIDE:
            return None
        name = Path(path).stem.replace(".symbolic", "").replace("-symbolic", "")
        return contexts[0], name, side
    return None


def icon_files():
    """{(theme, context, name): [(side, path)]} over every theme, each distinct file's bytes once."""
    icons, seen = {}, set()
    for package, theme in THEMES.items():
        for path in common.package_files(package, (".png",)):
            parsed = parse(path)
            if parsed is None:
                continue
            digest = hashlib.sha256(Path(path).read_bytes()).digest()
            if digest in seen:
                continue
            seen.add(digest)
            context, name, side = parsed
            icons.setdefault((theme, context, name), []).append((side, path))
    return icons


def choose(icons):
    """One (theme, context, name, side, path) per icon, at most CAP per context."""
    chosen = []
    for unit in sorted(icons):
        side, path = common.rank(icons[unit], (SEED, *unit), name=lambda f: f[1])[0]
        chosen.append((*unit, side, path))
    kept = []
    for context in CONTEXTS:
        in_context = [icon for icon in chosen if icon[1] == context]
        kept += common.subsample(in_context, CAP, SEED, name=lambda i: f"{i[0]}/{i[2]}")
    return kept


def build(out):
    """Copies the chosen icons and returns the manifest rows [(set, path, label)]."""
    icons = choose(icon_files())
    sizes = {}
    for _, _, name, _, _ in icons:
        sizes[name] = sizes.get(name, 0) + 1
    partition = common.assign_groups(sizes, SEED)
    rows = []
    for theme, context, name, side, path in icons:
        relative = f"images/{context}/{theme}-{name}-{side}.png"
        (out / "images" / context).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, out / relative)
        rows.append((partition[name], relative, context))
    return rows
