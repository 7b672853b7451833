"""RandAugment's ops here against PIL's, the library the reference codes augment with.

    python benchmarks/augment_vs_pil.py --images=<folder of images, e.g. CIFAR-10's test/> \
        [--count=256] [--out=benchmarks/results/augment_vs_pil.md]

The FixMatch reference code (google-research/fixmatch) and the PyTorch codes
behind the reference curves (kekmodel/FixMatch-pytorch, USB, ShrinkMatch)
apply each RandAugment op with PIL on 8-bit images; `jaxssl.augment` computes
them on float images on the device. This applies each op at fixed parameters
both ways to the same images and reports, in 8-bit levels (0-255) after
rounding ours, the mean and largest absolute difference and the share of
values more than 2 levels apart. Geometric ops get three rows: PIL called
with our default convention (bilinear, grey fill, about the centre), where a
gap is an error or rounding; PIL called as the reference code calls it
(nearest pixel, shears about the top-left corner, whole-pixel translations;
the grey fill is what google-research/fixmatch's RGBA round trip gives),
against our default view: how differently the two views look; and the same
against our `strong_geometry="reference"` (`augment.REFERENCE_GEOMETRY_POLICY`
with nearest-pixel warps).
"""

import argparse
import pathlib
import sys

import jax
import jax.numpy as jnp
import numpy as np
from PIL import Image, ImageEnhance, ImageOps

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))

from jaxssl.augment import colour, geometric  # noqa: E402

GREY = (128, 128, 128)


def pil_affine(data, resample):
  """A PIL op: `Image.transform` with the AFFINE pull (x_in, y_in) = (a x + b y + c, d x + e y + f)."""
  return lambda image: image.transform(image.size, Image.AFFINE, data, resample=resample,
                                       fillcolor=GREY)


def cases(size: int):
  """(name, comparison, our op on float images [N, H, W, C], PIL op on one 8-bit image)."""
  centre = size / 2  # PIL's continuous coordinates: pixel i spans [i, i + 1)
  shift = 0.2 * size  # TranslateX at magnitude 0.2 of the width
  rows = [
      ("AutoContrast", "same op", colour.autocontrast, ImageOps.autocontrast),
      ("Equalize", "same op", colour.equalize, ImageOps.equalize),
      ("Posterize, 4 bits", "same op", lambda x: colour.posterize(x, 4),
       lambda im: ImageOps.posterize(im, 4)),
      ("Solarize, threshold 128", "same op", lambda x: colour.solarize(x, 127.5 / 255),
       lambda im: ImageOps.solarize(im, 128)),
  ]
  for name, ours, pil in (("Brightness", colour.brightness, ImageEnhance.Brightness),
                          ("Color", colour.color, ImageEnhance.Color),
                          ("Contrast", colour.contrast, ImageEnhance.Contrast),
                          ("Sharpness", colour.sharpness, ImageEnhance.Sharpness)):
    for factor in (0.3, 1.7):
      rows.append((f"{name}, factor {factor}", "same op",
                   lambda x, ours=ours, factor=factor: ours(x, factor),
                   lambda im, pil=pil, factor=factor: pil(im).enhance(factor)))
  same = "same convention: bilinear, about the centre"
  default = "reference code's call; ours centred, bilinear (default)"
  reference = "reference code's call; ours `strong_geometry=reference`"
  pil_rotate = lambda resample: lambda im: im.rotate(20.0, resample=resample, fillcolor=GREY)
  corner_shear = pil_affine((1, 0.2137, 0, 0, 1, 0), Image.NEAREST)
  whole_shift = pil_affine((1, 0, -int(shift), 0, 1, 0), Image.NEAREST)
  nearest = lambda matrix: lambda x: geometric.warp(x, matrix, nearest=True)
  rows += [
      ("Rotate 20 deg", same, lambda x: geometric.rotate(x, 20.0), pil_rotate(Image.BILINEAR)),
      ("Rotate 20 deg", default, lambda x: geometric.rotate(x, 20.0), pil_rotate(Image.NEAREST)),
      ("Rotate 20 deg", reference, nearest(geometric.rotation_matrix(20.0, size, size)),
       pil_rotate(Image.NEAREST)),
      ("ShearX 0.2137", same, lambda x: geometric.shear_x(x, 0.2137),
       pil_affine((1, 0.2137, -0.2137 * centre, 0, 1, 0), Image.BILINEAR)),
      ("ShearX 0.2137", default, lambda x: geometric.shear_x(x, 0.2137), corner_shear),
      ("ShearX 0.2137", reference,
       nearest(geometric.shear_x_corner_matrix(0.2137, size, size)), corner_shear),
      (f"TranslateX {shift:.1f} px", same, lambda x: geometric.translate_x(x, shift),
       pil_affine((1, 0, -shift, 0, 1, 0), Image.BILINEAR)),
      (f"TranslateX {shift:.1f} px", default, lambda x: geometric.translate_x(x, shift),
       whole_shift),
      (f"TranslateX {shift:.1f} px", reference,
       nearest(geometric.translation_matrix(0.0, int(shift))), whole_shift),
  ]
  return rows


def load_images(folder: pathlib.Path, count: int) -> list[Image.Image]:
  paths = sorted(p for p in folder.rglob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
  if not paths:
    sys.exit(f"error: no .jpg/.jpeg/.png images under {folder}; pass --images=<folder>, e.g. "
             "the test/ folder of the unpacked CIFAR-10 copy.")
  step = max(1, len(paths) // count)
  return [Image.open(p).convert("RGB") for p in paths[::step][:count]]


def compare(images: list[Image.Image], ours, pil) -> dict:
  """Mean and largest |ours - PIL| in 8-bit levels, and the share above 2 levels."""
  batch = jnp.asarray(np.stack([np.asarray(im) for im in images]), jnp.float32) / 255
  mine = np.asarray(jnp.round(jax.jit(ours)(batch) * 255))
  theirs = np.stack([np.asarray(pil(im), np.float32) for im in images])
  gap = np.abs(mine - theirs)
  return {"mean": gap.mean(), "max": gap.max(), "over_2": (gap > 2).mean()}


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--images", required=True, help="folder searched for images")
  parser.add_argument("--count", type=int, default=256)
  parser.add_argument("--out", default=None, help="markdown file for the table")
  args = parser.parse_args()
  images = load_images(pathlib.Path(args.images), args.count)
  size = images[0].size[0]
  lines = [f"RandAugment ops: jaxssl.augment against PIL on {len(images)} images of "
           f"{args.images} ({size}x{size}); differences in 8-bit levels. Written by "
           "benchmarks/augment_vs_pil.py.", "",
           "| op | comparison | mean abs diff | max abs diff | values > 2 levels apart |",
           "|---|---|---|---|---|"]
  for name, comparison, ours, pil in cases(size):
    figures = compare(images, ours, pil)
    lines.append(f"| {name} | {comparison} | {figures['mean']:.2f} | {figures['max']:.0f} | "
                 f"{100 * figures['over_2']:.1f}% |")
  text = "\n".join(lines) + "\n"
  print(text)
  if args.out:
    pathlib.Path(args.out).write_text(text)


if __name__ == "__main__":
  main()
