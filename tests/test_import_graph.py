"""jaxssl's imports point one way (../shared/DESIGN.md): no cycle, no import upwards.

Every `import` and `from ... import` in the package counts, including the
ones inside functions. Print the graph with

  python tests/test_import_graph.py
"""

import ast
import pathlib

PACKAGE = pathlib.Path(__file__).resolve().parent.parent / "jaxssl"

# A module in a layer may import only from the layers listed for it (and itself).
ALLOWED = {
    "errors": set(),
    "compiler": set(),
    "losses": set(),
    "augment": set(),
    "sharding": {"errors"},
    "methods": {"losses", "augment", "errors"},
    "models": {"errors"},
    "data": {"errors", "sharding"},
    "presets": {"errors"},
    "renamed_fields": {"errors"},
    "optim": {"errors"},
    "checkpointing": {"errors"},
    "metrics_log": set(),
    "preemption": set(),
    "plots": {"metrics_log"},
    "evaluation": {"compiler", "data", "sharding", "errors"},
    "teacher": {"checkpointing", "data", "models", "sharding", "methods", "errors"},
    "self_training": {"data", "evaluation", "models", "methods", "errors"},
    "train": {"checkpointing", "compiler", "data", "evaluation", "losses", "metrics_log", "models",
              "optim", "plots", "preemption", "renamed_fields", "sharding", "methods", "errors"},
    "stages": {"checkpointing", "data", "evaluation", "metrics_log", "models",
               "self_training", "sharding", "teacher", "train", "methods", "errors"},
    "sweep": {"metrics_log", "plots", "renamed_fields", "stages", "errors"},
    "robustness": {"augment", "data", "evaluation", "metrics_log", "sharding", "teacher",
                   "errors"},
}


def module_name(path: pathlib.Path) -> str:
  parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
  return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
  """{module: the jaxssl modules it imports}, over every .py file of the package."""
  files = {module_name(path): path for path in PACKAGE.rglob("*.py")}
  graph = {}
  for module, path in files.items():
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    imported = set()
    for node in ast.walk(ast.parse(path.read_text())):
      if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
      elif isinstance(node, ast.ImportFrom):
        base = node.module or ""
        if node.level:
          base = ".".join(package[:len(package) - node.level + 1] + ([base] if base else []))
        submodules = [f"{base}.{alias.name}" for alias in node.names]
        # `from jaxssl import losses` imports the module jaxssl.losses, not jaxssl itself.
        names = submodules if any(name in files for name in submodules) else [base]
      else:
        continue
      imported |= {name for name in names if name in files and name != module}
    # A package importing its own submodules is not a dependency between modules.
    graph[module] = {name for name in imported if not name.startswith(module + ".")}
  return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
  """A list of modules a -> b -> ... -> a, or None."""
  state, stack = {}, []

  def visit(node):
    state[node] = "open"
    stack.append(node)
    for target in sorted(graph[node]):
      if state.get(target) == "open":
        return stack[stack.index(target):] + [target]
      if target not in state:
        cycle = visit(target)
        if cycle:
          return cycle
    stack.pop()
    state[node] = "done"
    return None

  for node in sorted(graph):
    if node not in state:
      cycle = visit(node)
      if cycle:
        return cycle
  return None


def layer(module: str) -> str:
  return module.split(".")[1] if "." in module else module


def test_find_cycle_finds_a_cycle_and_nothing_else():
  assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a", "b", "c", "a"]
  assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set(), "d": {"a", "c"}}) is None


def test_there_is_no_import_cycle():
  graph = import_graph()
  assert "jaxssl.train" in graph and "jaxssl.methods.fixmatch" in graph
  assert find_cycle(graph) is None, " -> ".join(find_cycle(graph))


def test_every_module_imports_only_the_layers_below_it():
  graph = import_graph()
  upward = sorted(f"{module} -> {target}" for module, targets in graph.items()
                  for target in targets
                  if layer(target) != layer(module) and layer(target) not in ALLOWED[layer(module)])
  assert not upward
  assert set(map(layer, graph)) <= set(ALLOWED) | {"jaxssl"}


if __name__ == "__main__":
  for module, targets in sorted(import_graph().items()):
    print(f"{module} -> {', '.join(sorted(targets)) or '(nothing in jaxssl)'}")
  cycle = find_cycle(import_graph())
  print("cycle: " + (" -> ".join(cycle) if cycle else "none"))
