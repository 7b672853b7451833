"""A picture of the views SSL methods train on: original, weak and strong.

Writes a PNG grid with one row per train image and the columns: the
original, 3 weak views (`augment.weak`: flip and a shift of up to 1/8 of the
side) and 3 strong views (`augment.strong`: weak, FixMatch's RandAugment with
random magnitudes, Cutout; or, with --strong_magnitude=m, weak then
RandAugment at the fixed magnitude m then Cutout, as in Noisy Student).

    python benchmarks/augment_views.py --source=digits \
        --out=benchmarks/results/augment_views_digits.png \
        [--num_images=8] [--strong_magnitude=0.9] [--flip | --no-flip] [--seed=0]

Sources are those of `jaxssl.data.load_source`: "digits", "tfds:<name>" or
"folder:<root>". The images are taken from each class in turn (the first of
every class, then the second, ...), so a row shows a different class from the
one above. For "folder:" only those few files are decoded, with PIL, instead
of loading the whole folder. Flipping is off by default for digits, where a
mirrored digit can be another class, and on otherwise.
"""

import argparse
import os
import pathlib

import jax
import jax.numpy as jnp
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image

from jaxssl import augment
from jaxssl.data import folder, load_source

NUM_VIEWS = 3
PANEL_INCHES = 1.2


def _round_robin(items_per_class, count):
  """The first item of each class, then the second, ..., `count` in all."""
  chosen = []
  for rank in range(max(len(items) for items in items_per_class)):
    chosen.extend(items[rank] for items in items_per_class if rank < len(items))
  return chosen[:count]


def _folder_images(root, count):
  """uint8 [count, H, W, C] from root/train/<class>/, decoding only those files.

  Grey (L) when every chosen file is grey, RGB otherwise, as `load_folder` does.
  """
  train_dir = pathlib.Path(root).expanduser() / "train"
  class_dirs = sorted(d for d in train_dir.iterdir() if d.is_dir() and not d.name.startswith("."))
  files_per_class = [sorted(p for p in d.iterdir() if not p.name.startswith(".")
                            and p.name.lower().endswith(folder.IMAGE_EXTENSIONS))
                     for d in class_dirs]
  decoded = []
  for path in _round_robin(files_per_class, count):
    with Image.open(path) as image:
      decoded.append(image.convert("L" if image.mode in ("1", "L", "LA") else "RGB"))
  mode = "L" if all(image.mode == "L" for image in decoded) else "RGB"
  images = np.stack([np.asarray(image.convert(mode)) for image in decoded])
  return images[..., None] if mode == "L" else images


def _source_images(name, data_dir, count):
  """uint8 [count, H, W, C] train images of the source, from each class in turn."""
  kind, _, argument = name.partition(":")
  if kind == "folder" and argument:
    return _folder_images(os.path.join(data_dir, argument) if data_dir else argument, count)
  dataset = load_source(name, data_dir)
  labels = dataset.train_labels
  indices_per_class = [np.flatnonzero(labels == c) for c in np.unique(labels)]
  return dataset.train_images[_round_robin(indices_per_class, count)]


def _strong_view(key, images, flip, magnitude):
  """FixMatch's strong view, or weak -> RandAugment(magnitude) -> Cutout for a fixed magnitude."""
  if magnitude is None:
    return augment.strong(key, images, flip=flip)
  weak_key, randaugment_key, cutout_key = jax.random.split(key, 3)
  images = augment.weak(weak_key, images, flip=flip)
  images = augment.randaugment(randaugment_key, images, magnitude=magnitude)
  return augment.cutout(cutout_key, images)


def _views(images, flip, magnitude, seed):
  """Column title -> float images [N, H, W, C]: original, weak and strong views."""
  weak = jax.jit(augment.weak, static_argnames="flip")
  strong = jax.jit(_strong_view, static_argnames=("flip", "magnitude"))
  weak_keys = jax.random.split(jax.random.key(seed), NUM_VIEWS)
  strong_keys = jax.random.split(jax.random.key(seed + 1), NUM_VIEWS)
  strong_name = "strong" if magnitude is None else f"strong m={magnitude:g}"
  columns = {"original": images}
  columns.update({f"weak {i + 1}": weak(k, images, flip=flip) for i, k in enumerate(weak_keys)})
  columns.update({f"{strong_name} {i + 1}": strong(k, images, flip=flip, magnitude=magnitude)
                  for i, k in enumerate(strong_keys)})
  return columns


def _draw_grid(columns, path, title):
  """Writes the views as a PNG grid: one row per image, one column per view."""
  num_images = next(iter(columns.values())).shape[0]
  figure = Figure(figsize=(PANEL_INCHES * len(columns), PANEL_INCHES * num_images + 0.5),
                  layout="constrained")
  figure.suptitle(title, fontsize="small")
  axes = figure.subplots(num_images, len(columns), squeeze=False)
  for column, (name, views) in enumerate(columns.items()):
    axes[0, column].set_title(name, fontsize="small")
    for row, view in enumerate(np.asarray(views)):
      grey = view.shape[-1] == 1
      axes[row, column].imshow(view[..., 0] if grey else view, cmap="gray" if grey else None,
                               vmin=0.0, vmax=1.0, interpolation="nearest")
      axes[row, column].set_axis_off()
  FigureCanvasAgg(figure)
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  figure.savefig(path, format="png", dpi=100)


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--source", default="digits",
                      help='"digits", "tfds:<name>" or "folder:<root>".')
  parser.add_argument("--data_dir", default=None,
                      help="TFDS data directory; the base of a relative folder root.")
  parser.add_argument("--out", required=True, help="The PNG to write.")
  parser.add_argument("--num_images", type=int, default=8)
  parser.add_argument("--strong_magnitude", type=float, default=None,
                      help="Fixed RandAugment magnitude in [0, 1]; random (FixMatch) if unset.")
  parser.add_argument("--flip", action=argparse.BooleanOptionalAction, default=None,
                      help="Random horizontal flips; default off for digits, on otherwise.")
  parser.add_argument("--seed", type=int, default=0)
  args = parser.parse_args()

  flip = args.source != "digits" if args.flip is None else args.flip
  images = augment.to_float(jnp.asarray(_source_images(args.source, args.data_dir,
                                                       args.num_images)))
  columns = _views(images, flip, args.strong_magnitude, args.seed)
  _, height, width, channels = images.shape
  title = f"{args.source}: {height}x{width}x{channels}, flip={flip}, seed={args.seed}"
  _draw_grid(columns, args.out, title)
  print(f"wrote {args.out}")


if __name__ == "__main__":
  main()
