"""desktop-art: the artwork of a Debian desktop — icons, flags, emotes, wallpapers, photos, boot
screens, logos, boot-splash sprites, screenshots — labelled by what each file is for, subsampled
to an extreme, long-tailed imbalance (1,599:2 between the largest and the smallest class) with no set
column. Files are copied byte for byte (PNG of every colour type, JPEG).

Source (licences from /usr/share/doc/PKG/copyright):
- famfamfam-silk (CC-BY-3.0): 1,000 16x16 icons;
- famfamfam-flag-png (public domain): country flags of 16x11 pixels (one 9x11);
- the icon themes of the `icons` set (see icons.py: LGPL-3+, GPL-2+, CC-BY-SA, public domain) for
  more icons at 16-256 px, the emotes and the emblems;
- mate-backgrounds (GPL-2+; Ubuntu-Mate-*-no-logo CC-BY-SA-4.0): wallpapers (abstract/, desktop/,
  up to 5640x3172) and photographs (nature/, 1280x1024 to 2560x1920);
- sway-backgrounds (Expat): one wallpaper (2048x1536);
- desktop-base (GPL-2+, some GPL-3+ or CC-BY-SA-3.0): GRUB boot screens, Debian logos, Plymouth
  boot-splash sprites (7x7 to 100x2 pixels) and login-screen previews.

Classes and how each is drawn (a keyed hash picks subsamples; identical files are kept once, so
famfamfam-silk's layout_edit.png and overlays.png count once):
    icon        1,599  famfamfam-silk (999 distinct) + 600 oxygen icons, one size each
    flag          242  famfamfam-flag-png (247 files, 242 distinct)
    emote          60  the themes' emotes/ folders, one size each
    emblem         25  the themes' emblems/ folders, one size each
    wallpaper      17  mate abstract/ and desktop/, and sway: of one picture at several resolutions
                       only the largest
    photo          12  mate nature/
    boot_screen     6  desktop-base GRUB backgrounds (16:9)
    logo            5  desktop-base debian-logos/
    boot_sprite     3  the three smallest Plymouth images of desktop-base (by pixel count)
    screenshot      2  desktop-base login-screen and look-and-feel previews
Each file is copied to images/LABEL/ under its path below /usr/share/, which says where it came from.

Why it is in the suite: nothing else tests the extremes together: a 1,599:2 class ratio (the
service warns, may weight classes, and must beat the majority-class baseline), classes of 2 and 3
images that an 80/10/10 content-hash split leaves out of TRAIN or TEST, images from 7x7 and 100x2
pixels to 5640x3172 (a 16 MB JPEG) letterboxed to one working size, every PNG colour type with and
without alpha, and JPEG, in one manifest with no partitions.
"""
import hashlib
import re
import shutil
from pathlib import Path

from PIL import Image

from . import common, icons

NAME = "desktop-art"
SEED = "desktop-art-v1"
PACKAGES = ["famfamfam-silk", "famfamfam-flag-png", "mate-backgrounds", "sway-backgrounds",
            "desktop-base", *icons.PACKAGES]
ICON_EXTRA = 600  # oxygen icons added to famfamfam-silk's 1,000
OXYGEN_CONTEXTS = ("actions", "apps", "categories", "devices", "mimetypes", "places", "status")
ALL_THEMES = set(icons.THEMES.values())


def pixels(path):
    with Image.open(path) as image:
        return image.size[0] * image.size[1]


def files(package, pattern, suffixes=(".png", ".jpg")):
    """The package's image files whose path matches the regular expression, sorted."""
    return [p for p in common.package_files(package, suffixes) if re.search(pattern, p)]


def one_size_each(theme_icons, themes, contexts):
    """One file per (theme, context, name) of icons.icon_files(), at a size a keyed hash picks."""
    return [common.rank(theme_icons[unit], (SEED, *unit), name=lambda f: f[1])[0][1]
            for unit in sorted(theme_icons) if unit[0] in themes and unit[1] in contexts]


def largest_of_each_picture(paths):
    """Of files that are one picture at several resolutions (Elephants.jpg, Elephants_3840x2160.jpg;
    Sway_Wallpaper_Blue_1366x768.png ...), only the one with the most pixels (ties: the first path)."""
    best = {}
    for path in sorted(paths):
        picture = re.sub(r"(_\d+x\d+)?(_Portrait)?$", "", Path(path).stem)
        if picture not in best or pixels(path) > pixels(best[picture]):
            best[picture] = path
    return sorted(best.values())


def smallest(paths, count):
    return sorted(sorted(paths, key=lambda p: (pixels(p), p))[:count])


def sample(paths, count, label):
    return common.subsample(paths, count, (SEED, label))


def classes():
    """{label: [path]} before identical files are removed."""
    theme_icons = icons.icon_files()
    plymouth = files("desktop-base", r"^/usr/share/plymouth/themes/", (".png",))
    previews = files("desktop-base", r"/login/sddm-preview|/look-and-feel/.*/previews/")
    return {
        "icon": files("famfamfam-silk", r"")
        + sample(one_size_each(theme_icons, {"oxygen"}, OXYGEN_CONTEXTS), ICON_EXTRA, "icon"),
        "flag": files("famfamfam-flag-png", r""),
        "emote": sample(one_size_each(theme_icons, ALL_THEMES, {"emotes"}), 60, "emote"),
        "emblem": sample(one_size_each(theme_icons, ALL_THEMES, {"emblems"}), 25, "emblem"),
        "wallpaper": largest_of_each_picture(files("mate-backgrounds", r"/mate/(abstract|desktop)/")
                                             + files("sway-backgrounds", r"")),
        "photo": files("mate-backgrounds", r"/mate/nature/"),
        "boot_screen": sample(files("desktop-base", r"/grub/grub-16x9\.png$"), 6, "boot_screen"),
        "logo": sample(files("desktop-base", r"/debian-logos/"), 5, "logo"),
        "boot_sprite": smallest(plymouth, 3),
        "screenshot": sample(previews, 2, "screenshot"),
    }


def build(out):
    """Copies the chosen files, each under images/LABEL/ at its path below /usr/share/, and returns
    the manifest rows [(None, path, label)]."""
    rows, seen = [], set()
    for label, paths in classes().items():
        for path in paths:
            digest = hashlib.sha256(Path(path).read_bytes()).digest()
            if digest in seen:
                continue
            seen.add(digest)
            relative = f"images/{label}/" + path.removeprefix("/usr/share/")
            (out / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, out / relative)
            rows.append((None, relative, label))
    return rows
