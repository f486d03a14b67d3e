"""`--dataset imagefolder`: torchvision's ImageFolder layout, one sub-folder of images per class, under
`--data-dir`'s train/ and val/ (as ImageNet is usually laid out). Images are decoded one at a time, in the
DataLoader's workers: RGB, the shorter side resized to round(S * 256 / 224) and the centre S x S cropped
(ImageNet's customary evaluation crop; S is --image-size, 224 by default), then scaled to [0, 1]."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor

from deepgen_cli.engine.errors import RunError, UsageError

DEFAULT_SIDE = 224  # pixels: ImageNet's usual training and evaluation crop
RESIZE_RATIO = 256 / 224  # shorter side before the centre crop, relative to the crop (ImageNet: 256 for 224)
SPLITS = ("train", "val")


def scan(root: Path, split: str) -> tuple[list[tuple[str, int]], list[str]]:
    """(path, class index) of every image under root/split, classes sorted by folder name (ImageFolder's rule)."""
    from torchvision.datasets.folder import IMG_EXTENSIONS, find_classes, make_dataset

    folder = root / split
    if not folder.is_dir():
        raise UsageError(f"--data-dir: imagefolder needs '{folder}': --data-dir holds {' and '.join(SPLITS)}/, each "
                         f"with one sub-folder of images per class")
    try:
        classes, index = find_classes(str(folder))
    except FileNotFoundError:
        raise RunError(f"--data-dir: '{folder}' holds no class folders; put the images of each class in a "
                       f"sub-folder of its own ({folder}/cat/1.jpg, {folder}/dog/2.jpg)") from None
    samples = make_dataset(str(folder), index, extensions=IMG_EXTENSIONS, allow_empty=True)
    found = {c for _, c in samples}
    empty = [name for name in classes if index[name] not in found]
    if empty:  # torchvision's own message names the extensions, not the folder or the fix
        raise RunError(f"--data-dir: class folder '{folder / empty[0]}' holds no image "
                       f"({', '.join(IMG_EXTENSIONS[:4])}, ...); add its images or remove the folder"
                       f"{f' ({len(empty)} such folders)' if len(empty) > 1 else ''}")
    return samples, classes


class FolderImages:
    """Images decoded from files: RGB, resized and centre-cropped to side x side, float32 in [0, 1]."""

    channels = 3

    def __init__(self, paths: list[str], side: int):
        self.paths, self.side = paths, side

    def __len__(self) -> int:
        return len(self.paths)

    def image(self, i: int) -> Tensor:
        from PIL import Image, UnidentifiedImageError
        from torchvision.transforms import functional as TF

        path = self.paths[i]
        try:
            with Image.open(path) as img:
                img = img.convert("RGB")
        except (OSError, UnidentifiedImageError, ValueError, Image.DecompressionBombError) as err:
            # DecompressionBombError: more than twice Pillow's MAX_IMAGE_PIXELS (89.5 M pixels), refused unread
            raise RunError(f"--data-dir: cannot decode image '{path}' ({type(err).__name__}); remove or replace it")
        img = TF.resize(img, round(self.side * RESIZE_RATIO))  # the shorter side; antialiased (PIL)
        img = TF.center_crop(img, [self.side, self.side])
        return TF.pil_to_tensor(img).float() / 255

    def batch(self, indices: list[int]) -> Tensor:
        return torch.stack([self.image(i) for i in indices])


def read_folders(data_dir: str, side: int | None):
    """(train images, train labels, val images, val labels, class names): images stay files until a batch needs them."""
    root = Path(data_dir)
    side = side or DEFAULT_SIDE
    (train, classes), (val, val_classes) = scan(root, "train"), scan(root, "val")
    if val_classes != classes:
        extra = sorted(set(val_classes) ^ set(classes))
        raise RunError(f"--data-dir: train/ and val/ must hold the same class folders; they differ in "
                       f"{', '.join(extra[:5]) or 'order'}")
    if len(classes) < 2:
        raise RunError(f"--data-dir: '{root / 'train'}' holds {len(classes)} class folder; give 2 or more")

    def split(samples):
        return (FolderImages([p for p, _ in samples], side),
                torch.tensor([c for _, c in samples], dtype=torch.int64))

    return (*split(train), *split(val), classes)
