"""Declared method options: each method lists its fields, `read` checks them all.

A method module declares `OPTIONS = {"threshold": Number(0.0, 1.0), ...}` and
its `make` calls `read(method_config, OPTIONS)` once. Every field is checked
(type, choice, range), an unknown field is refused, and the values come back
as an immutable namedtuple, so a loss never sees the ConfigDict. The error
names the field, the value and what is allowed.

The declarations double as documentation and drive the tests that feed every
method a bad value for each of its options. An option with a `default` may be
left out of the config; the stages set such fields (Noisy Student's
`pseudo_labeled`), users don't.
"""

import collections
import dataclasses
import numbers
from typing import Any

from jaxssl.errors import ConfigError

REQUIRED = object()  # the default of an option the config must set


@dataclasses.dataclass(frozen=True)
class Choice:
  """One of a fixed set of values."""
  values: tuple
  default: Any = REQUIRED

  def check(self, value) -> str | None:
    return None if value in self.values else f"use one of {self.values}"


@dataclasses.dataclass(frozen=True)
class Number:
  """A real (or whole) number in [low, high], either end open or absent.

  `optional` also admits None (e.g. FixMatch's strong_magnitude: None means
  "drawn at random").
  """
  low: float | None = None
  high: float | None = None
  low_open: bool = False
  high_open: bool = False
  integer: bool = False
  optional: bool = False
  default: Any = REQUIRED

  def describe(self) -> str:
    kind = "a whole number" if self.integer else "a number"
    if self.low is not None and self.high is not None:
      interval = (f"{'(' if self.low_open else '['}{self.low}, "
                  f"{self.high}{')' if self.high_open else ']'}")
      text = f"{kind} in {interval}"
    elif self.low is not None:
      text = f"{kind} {'>' if self.low_open else '>='} {self.low}"
    elif self.high is not None:
      text = f"{kind} {'<' if self.high_open else '<='} {self.high}"
    else:
      text = kind
    return text + (" or None" if self.optional else "")

  def check(self, value) -> str | None:
    if value is None and self.optional:
      return None
    wrong_type = (isinstance(value, bool) or not isinstance(value, numbers.Real)
                  or (self.integer and not isinstance(value, numbers.Integral)))
    too_low = not wrong_type and self.low is not None and (
        value < self.low or (self.low_open and value == self.low))
    too_high = not wrong_type and self.high is not None and (
        value > self.high or (self.high_open and value == self.high))
    return f"use {self.describe()}" if wrong_type or too_low or too_high else None


@dataclasses.dataclass(frozen=True)
class Flag:
  """True or False."""
  default: Any = REQUIRED

  def check(self, value) -> str | None:
    return None if isinstance(value, bool) else "use True or False"


Option = Choice | Number | Flag


def read(method_config, spec: dict[str, Option]) -> Any:
  """Checks `method_config` against `spec`; returns its values as a namedtuple.

  Args:
    method_config: `config.method` (a ConfigDict or dict); its "name" field
      picks the method and is not an option.
    spec: field -> Choice | Number | Flag.

  Raises:
    ConfigError: a missing or unknown field, or a value outside its option.
  """
  fields = {key: method_config[key] for key in method_config.keys() if key != "name"}
  name = method_config.get("name", "?")
  unknown = sorted(set(fields) - set(spec))
  if unknown:
    raise ConfigError(
        f"config.method has {unknown}, which method {name!r} does not take; its options are "
        f"{sorted(spec)}. Remove the field (or check its spelling).")
  for field in set(spec) - set(fields):
    if spec[field].default is not REQUIRED:
      fields[field] = spec[field].default
  missing = sorted(set(spec) - set(fields))
  if missing:
    raise ConfigError(
        f"config.method lacks {missing}, which method {name!r} needs; start from "
        f"configs/{name}.py, which sets every option.")
  for field, option in spec.items():
    problem = option.check(fields[field])
    if problem:
      raise ConfigError(f"config.method.{field}={fields[field]!r} is not valid for {name!r}: "
                        f"{problem}.")
  return collections.namedtuple("Options", list(spec))(**{f: fields[f] for f in spec})

