"""The lines of the user's file to look at: a backward slice over the statements that ran.

The numbers say which arrays disagree; the code says where their gradients were made.
From a traced evaluation (engine/params/tracing.py: the lines that ran, and the line
where each array's final gradient appeared) this module follows the data backwards
through the statements that ran, in the same function, to everything that fed each
gradient. The statements that feed the diverging arrays but none of the agreeing ones
are where the mistake can be; which of them comes first depends on the cause:

- a mistake in one array's own gradient (sign, scale, penalty, layout, zeroed entries):
  the statements that assign those arrays, then what only they use;
- a mistake in the backward chain: the statements that every diverging array shares and
  no agreeing one does, in the order they ran: the first of them is where the chain
  leaves the part that agrees;
- a loss the gradient does not follow, or a penalty: also the statements of the cost
  that no gradient uses.

Static and approximate by design (no aliasing, containers by their constant keys):
a list of places to look, most likely first, never a proof.
"""

from __future__ import annotations

import ast
import functools
import re
from dataclasses import dataclass, field

MAX_LINES = 5
MAX_STATEMENTS = 3000  # statements that ran: beyond, slicing would slow the page
ARGUMENTS_ONLY = -1  # a call site reached from the callee's parameters: not its result
PENALTY_NAMES = re.compile(r"lam|reg|decay|penal|l2|alpha", re.IGNORECASE)
# what the backward pass starts from: the labels, or the upstream gradient of a layer
TARGET_NAMES = re.compile(
    r"^(y|Y|yk|y_\w+|Y_\w+|t|T|labels?|targets?|dout|d_out|dy|dY|grad_output|grad_out|g|"
    r"upstream\w*|dnext_h|dnext_c|dh|dc)$"
)


@dataclass(eq=False)
class Statement:
    """One simple statement (or a loop header): what it writes and what it reads."""

    line: int
    end: int
    scope: ast.AST
    loops: tuple[tuple[int, int], ...]
    defs: set[str] = field(default_factory=set)
    uses: set[str] = field(default_factory=set)
    calls: set[str] = field(default_factory=set)
    sizes: set[str] = field(default_factory=set)  # read for their size only: len(y), X.shape
    parts: dict[str, set[str]] = field(default_factory=dict)  # `g = [a, b]`: g[0] reads a
    unpacked: list[str | None] = field(default_factory=list)  # `a, b = f()`: a is element 0
    returns: list[set[str]] = field(default_factory=list)  # `return a, b`: element 0 reads a
    arguments: dict[str, set[str]] = field(default_factory=dict)  # f -> what f(...) passes
    passes_through: bool = False  # `return a, b`, `x = y`: moves values, changes none
    loop_variables: set[str] = field(default_factory=set)  # `for t in ...`: t

    @property
    def reads_a_penalty(self) -> bool:
        return any(PENALTY_NAMES.search(key.split(".")[-1].split("[")[0]) for key in self.uses)


def suspect_lines(
    source: str,
    executed,
    diverging_roots: list,
    agreeing_roots: list,
    cause: str | None,
    loss_root: int | None = None,
) -> tuple[int, ...]:
    """At most MAX_LINES lines, most likely first; () when the code cannot tell. Roots
    are where each array's gradient was made: (line, key) as the tracer found them (the
    key narrows a container to the array's entry), or a line."""
    program = _program(source, frozenset(executed))
    roots = program.located(diverging_roots) if program is not None else []
    if not roots:
        return ()
    slices = [program.slice(s, key) for s, key in roots]
    agreeing = program.located(agreeing_roots)
    agreed = set().union(*(program.slice(s, key) for s, key in agreeing)) if agreeing else set()
    cost = program.at(loss_root) if loss_root is not None else None
    cost_slice = program.slice(cost) if cost is not None else set()
    forward = program.before_the_targets(set().union(*slices))
    if forward is None:  # no labels or upstream gradient by name: the cost's own slice
        forward = cost_slice
    parts = _Parts(
        roots=sorted({s for s, _ in roots}, key=lambda s: -s.line),
        backward=set().union(*slices) - agreed,
        shared=set.intersection(*slices) - agreed,
        forward=forward,
        cost=cost_slice,
        everything_diverges=not agreeing,
    )
    lines: list[int] = []
    for statement in _ranked(program, parts, cause):
        if statement.line not in lines:
            lines.append(statement.line)
    return tuple(lines[:MAX_LINES])


@dataclass
class _Parts:
    """The statements a ranking draws from: the roots (latest first), those only the
    diverging arrays use (`backward`), those all of them share (`shared`), the forward
    pass and the cost."""

    roots: list[Statement]
    backward: set[Statement]
    shared: set[Statement]
    forward: set[Statement]
    cost: set[Statement]
    everything_diverges: bool


def _ranked(program: _Program, parts: _Parts, cause: str | None) -> list[Statement]:
    """Most likely first, by cause (see the module's docstring)."""
    order = program.in_order
    own = parts.backward - parts.forward
    start = order(parts.shared - parts.forward)  # where the diverging part of the chain begins
    cost_only = order(parts.cost - parts.backward - parts.forward)[::-1]  # the cost's end first
    if cause == "regularization":
        candidates = parts.backward | parts.forward | parts.cost
        penalties = [s for s in order(candidates) if s.reads_a_penalty]
        return [s for s in penalties if s in parts.backward] + penalties + parts.roots
    if cause in ("sign", "scale", "zeroed"):
        near_first = order(own)[::-1]
        if parts.everything_diverges:  # one mistake shared by all: the cost or the chain's start
            return start[:1] + cost_only[:1] + parts.roots[:2] + start + cost_only + near_first
        return parts.roots + near_first[:2] + start + near_first
    if cause == "layout":
        return program.downstream(parts.roots) + parts.roots + order(own)[::-1]
    # the chain, a loss it does not follow, or no hypothesis: where the chain starts and,
    # unless the chain is known wrong, the cost
    ranked = start[:2]
    if cause != "backward-chain":
        ranked += cost_only[:1]
    ranked += start + parts.roots + order(own)
    if cause == "loss-mismatch":
        ranked += cost_only + order(parts.forward - parts.backward)[::-1] + order(parts.shared)
    return ranked


@functools.lru_cache(maxsize=8)
def _program(source: str, executed: frozenset[int]) -> _Program | None:
    """The parsed program, shared by the findings of one result; None when it does not
    parse or is too large to slice quickly (the lines are advisory)."""
    try:
        program = _Program(source, set(executed))
    except (SyntaxError, ValueError, RecursionError):
        return None
    return program if len(program.ran) <= MAX_STATEMENTS else None


def made_at(source: str, executed, places, last: bool = False) -> tuple[int, str] | None:
    """Of the (line, key) places where an array's final gradient appeared, the first
    (the last, for zeros: initialisations come early) whose statement writes that key:
    binding a name to an object that already held the value (`for layer in layers`)
    or passing it on is not making it. The first place when none writes it."""
    program = _program(source, frozenset(executed))
    if not places:
        return None
    if program is None:
        return places[0]
    writing = [(line, key) for line, key in places if _writes(program.at(line), key)]
    if not writing:
        return places[0]
    return writing[-1] if last else writing[0]


def _writes(statement: Statement | None, key: str) -> bool:
    if statement is None or statement.passes_through:
        return False
    for written in statement.defs:
        if _contains(written, key) and not key[len(written) :].startswith("."):
            return True  # the key itself, or an entry of the container written
    return False


def catalogue_lines(source: str, buggy_code: str, executed) -> tuple[int, ...]:
    """The lines that ran and hold a catalogue bug's buggy code, spaces aside
    (`return 1/(1+np.exp(z))` for `return 1 / (1 + np.exp(z))`)."""
    wanted = "".join(buggy_code.split()).rstrip(":")
    if not wanted:
        return ()
    return tuple(
        number
        for number, text in enumerate(source.splitlines(), 1)
        if number in executed and wanted in "".join(text.split())
    )[:MAX_LINES]


def backward_lines(source: str, ran_in_backward) -> tuple[int, ...]:
    """A hand-written backward that autograd ran (no user variable holds a param's
    gradient: autograd finishes it): its statements, in order, as far as MAX_LINES."""
    program = _program(source, frozenset(ran_in_backward))
    if program is None:
        return ()
    statements = [s for s in program.in_order(program.ran) if s.defs]
    return tuple(dict.fromkeys(s.line for s in statements))[:MAX_LINES]


def unused_results(source: str, executed) -> list[tuple[int, str]]:
    """(line, name) for each plain name a statement that ran in a function assigned and
    no other statement of that function that ran reads: a value computed and dropped.
    In a backward pass that is often a gradient term left out of a sum."""
    program = _program(source, frozenset(executed))
    if program is None:
        return []
    found = []
    for s in program.in_order(program.ran):
        if isinstance(s.scope, ast.Module) or len(s.defs) != 1 or s.loop_variables:
            continue
        (name,) = s.defs
        if not name.isidentifier():
            continue
        read = any(
            _contains(name, key)
            for other in program.ran
            if other is not s and other.scope is s.scope
            for key in other.uses | other.sizes
        )
        if not read:
            found.append((s.line, name))
    return found


class _Program:
    """The statements of one file that ran, with their reads and writes."""

    def __init__(self, source: str, executed: set[int]):
        tree = ast.parse(source)
        self.statements: list[Statement] = []
        self.functions: dict[str, list[ast.AST]] = {}
        self._slices: dict[tuple[int, str | None], set[Statement]] = {}
        self._collect(tree, tree, ())
        self.ran = [s for s in self.statements if executed & set(range(s.line, s.end + 1))]
        self._by_line = {}
        for s in self.ran:
            for line in range(s.line, s.end + 1):
                self._by_line.setdefault(line, s)

    def _collect(self, node, scope, loops) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                if not isinstance(child, ast.Lambda):
                    self.functions.setdefault(child.name, []).append(child)
                    self._collect(child, child, ())
                continue
            if isinstance(child, ast.ClassDef):
                self._collect(child, scope, loops)
                continue
            if isinstance(child, (ast.For, ast.AsyncFor, ast.While)):
                span = (child.lineno, child.end_lineno or child.lineno)
                self._add_header(child, scope, (*loops, span))
                for block in (child.body, child.orelse):
                    for stmt in block:
                        self._collect_one(stmt, scope, (*loops, span))
                continue
            if isinstance(child, ast.stmt):
                self._collect_one(child, scope, loops)

    def _collect_one(self, stmt, scope, loops) -> None:
        if isinstance(stmt, (ast.If, ast.With, ast.AsyncWith, ast.Try)):
            self._add_header(stmt, scope, loops)
            wrapper = ast.Module(body=[], type_ignores=[])
            for name in ("body", "orelse", "finalbody", "handlers"):
                for sub in getattr(stmt, name, []) or []:
                    if isinstance(sub, ast.ExceptHandler):
                        for inner in sub.body:
                            wrapper.body = [inner]
                            self._collect(wrapper, scope, loops)
                        continue
                    wrapper.body = [sub]
                    self._collect(wrapper, scope, loops)
            return
        wrapper = ast.Module(body=[stmt], type_ignores=[])
        if isinstance(stmt, (ast.For, ast.AsyncFor, ast.While, ast.FunctionDef, ast.ClassDef)):
            self._collect(wrapper, scope, loops)
            return
        self.statements.append(_statement(stmt, scope, loops))

    def _add_header(self, node, scope, loops) -> None:
        header = Statement(node.lineno, node.lineno, scope, loops)
        if isinstance(node, (ast.For, ast.AsyncFor)):
            header.end = node.iter.end_lineno or node.lineno
            header.defs = _written(node.target)
            header.uses = _read(node.iter)
            header.loop_variables = header.defs
        elif isinstance(node, (ast.With, ast.AsyncWith)):
            for item in node.items:
                header.uses |= _read(item.context_expr)
                if item.optional_vars is not None:
                    header.defs |= _written(item.optional_vars)
        self.statements.append(header)

    def at(self, line: int) -> Statement | None:
        return self._by_line.get(line)

    def located(self, roots) -> list[tuple[Statement, str | None]]:
        """(statement, key) for roots given as (line, key) or as a line."""
        found = []
        for root in roots:
            line, key = root if isinstance(root, tuple) else (root, None)
            statement = self.at(line)
            if statement is not None:
                found.append((statement, key))
        return found

    def in_order(self, statements) -> list[Statement]:
        return sorted(statements, key=lambda s: s.line)

    def before_the_targets(self, statements: set[Statement]) -> set[Statement] | None:
        """The forward pass, wherever it is recomputed: the statements that do not depend
        on the labels (or a layer's upstream gradient), except, beside a backward pass,
        those that feed no statement of it (a backward step that lost its upstream
        gradient depends on no label either, but feeds only the gradients). None when no
        statement reads a name like those."""
        counters = {(s.scope, d) for s in self.statements for d in s.loop_variables}
        tainted = {
            key
            for s in self.ran
            for key in s.uses
            if _names_a_target(key) and (s.scope, key) not in counters  # a loop's t is no label
        }
        if not tainted:
            return None
        after: set[Statement] = set()
        for _ in range(2):  # a loop's body can feed its own earlier lines
            for s in self.in_order(self.ran):
                values = {u for u in s.uses if not any(_contains(z, u) for z in s.sizes)}
                if s not in after and any(_overlaps(t, u) for t in tainted for u in values):
                    after.add(s)
                    tainted |= s.defs
        needed = set().union(*(s.uses for s in after)) if after else set()
        forward: set[Statement] = set()
        for _ in range(2):
            for s in reversed(self.in_order(self.ran)):
                if s in after or s in forward:
                    continue
                if any(_contains(d, u) for d in s.defs for u in needed):  # not via a
                    forward.add(s)  # whole container: `grads` holds backward entries too
                    needed |= s.uses
        backward_scopes = {s.scope for s in after}
        orphans = {s for s in self.ran if s.scope in backward_scopes and s not in after | forward}
        return statements - after - orphans

    def _call_sites(self, current: Statement):
        """Across a call: a function's parameter comes from where it was called."""
        scope = current.scope
        if not isinstance(scope, (ast.FunctionDef, ast.AsyncFunctionDef)):
            return
        parameters = {a.arg for a in (*scope.args.posonlyargs, *scope.args.args)}
        parameters |= {a.arg for a in scope.args.kwonlyargs}
        if not any(_overlaps(p, u) for p in parameters for u in current.uses):
            return
        for s in self.ran:
            if scope.name in s.calls and s.scope is not scope:
                yield s, frozenset(s.arguments[scope.name]), ARGUMENTS_ONLY

    def downstream(self, roots: list[Statement]) -> list[Statement]:
        """The statements that ran after the roots, in their scope, and change what the
        roots wrote (an unrolling, a reshape, a transpose), not those that only pass it
        on (`return dW, db`)."""
        keys = set().union(*(s.defs for s in roots))
        found = []
        for s in self.in_order(self.ran):
            if any(s.scope is r.scope and s.line > r.line for r in roots) and any(
                _overlaps(d, u) for d in keys for u in s.uses
            ):
                if not s.passes_through:
                    found.append(s)
                keys |= s.defs
        return found

    def slice(self, start: Statement, key: str | None = None) -> set[Statement]:
        """Every statement that ran and fed `start`, `start` included. With the root's
        `key` (`grads[0]`), a container the root reads whole (`grads[i] += ...`) is read
        as that entry only, and followed into the entry's own part of a list, a tuple
        unpacked from a call, or a returned tuple."""
        memo = (id(start), key)
        if memo not in self._slices:
            self._slices[memo] = self._slice(start, key)
        return self._slices[memo]

    def _slice(self, start: Statement, key: str | None) -> set[Statement]:
        wanted = None
        if key is not None:
            wanted = frozenset(key if _contains(u, key) else u for u in start.uses)
        found = {start}
        todo = [(start, wanted, None)]
        seen = set()
        while todo:
            item = todo.pop()
            if (id(item[0]), item[1], item[2]) in seen:
                continue
            seen.add((id(item[0]), item[1], item[2]))
            for feeder, feeder_wanted, element in self._feeders(*item, start.scope):
                found.add(feeder)
                todo.append((feeder, feeder_wanted, element))
        return found

    def _feeders(self, current: Statement, wanted, element, start_scope):
        """(statement, the uses of it to follow or None for all, the element of a call's
        returned tuple it takes or None) for each statement that fed `current`."""
        uses = wanted if wanted is not None else current.uses
        for s in self.ran:
            if s.scope is not current.scope or s is current or not _before(s, current):
                continue
            matched = {u for u in uses if any(_overlaps(d, u) for d in s.defs)}
            if matched:
                yield (s, *_followed(s, matched))
        if current.scope is start_scope:
            yield from self._call_sites(current)
        for name in current.calls if element is not ARGUMENTS_ONLY else ():
            for function in self.functions.get(name, []):
                for s in self.ran:
                    if s.scope is function and "<return>" in s.defs:
                        part = s.returns[element] if element is not None and s.returns else None
                        yield s, (frozenset(part) if part is not None else None), None


def _names_a_target(key: str) -> bool:
    """`y`, `labels[i]`, `self.y`, `dout`; not `X.T` (a transpose) nor a loop's own `t`,
    which the caller rules out as made in the scope."""
    name = key.split("[")[0].split(".")[-1]
    if "." in key.split("[")[0] and name in ("T", "t"):
        return False
    return bool(TARGET_NAMES.match(name))


def _contains(container: str, key: str) -> bool:
    """`grads` holds `grads[0]` (and `grads[0]` itself)."""
    return key == container or (key.startswith(container) and key[len(container)] in "[.")


def _followed(s: Statement, matched: set[str]):
    """(uses to follow, element) of a feeder reached through the `matched` reads: one
    entry of a list or dict it builds, or one position of the tuple a call returns."""
    if s.parts and all(u in s.parts for u in matched):
        return frozenset().union(*(s.parts[u] for u in matched)), None
    if s.unpacked:
        positions = {i for i, t in enumerate(s.unpacked) if t and any(t == u for u in matched)}
        if len(positions) == 1:
            return None, positions.pop()
    return None, None


def _before(s: Statement, current: Statement) -> bool:
    """`s` can have run before `current`: earlier in the file, or in a loop around both."""
    if s.line < current.line:
        return True
    return any(loop in current.loops for loop in s.loops)


def _overlaps(written: str, read: str) -> bool:
    """`grads` and `grads['W1']` overlap; `grads['W1']` and `grads['W2']` do not."""
    if written == read:
        return True
    shorter, longer = sorted((written, read), key=len)
    return longer.startswith(shorter) and longer[len(shorter)] in "[."


def _statement(stmt: ast.stmt, scope, loops) -> Statement:
    s = Statement(stmt.lineno, stmt.end_lineno or stmt.lineno, scope, loops)
    if isinstance(stmt, ast.Assign):
        for target in stmt.targets:
            s.defs |= _written(target)
            s.uses |= _partial(target)
        s.uses |= _read(stmt.value)
        s.passes_through = _names_only(stmt.value)
        _elements(s, stmt.targets, stmt.value)
    elif isinstance(stmt, ast.AugAssign):
        s.defs |= _written(stmt.target)
        s.uses |= _written(stmt.target) | _read(stmt.value) | _partial(stmt.target)
    elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
        s.defs |= _written(stmt.target)
        s.uses |= _read(stmt.value)
    elif isinstance(stmt, ast.Return):
        s.passes_through = _names_only(stmt.value)
        s.defs.add("<return>")
        s.uses |= _read(stmt.value) if stmt.value is not None else set()
        if isinstance(stmt.value, ast.Tuple):
            s.returns = [_read(e) for e in stmt.value.elts]
    elif isinstance(stmt, ast.Expr):
        s.uses |= _read(stmt.value)
        s.defs |= _mutated(stmt.value)
    else:
        s.uses |= _read(stmt)
    s.sizes = {key for n in ast.walk(stmt) for key in _size_reads(n)}
    for n in ast.walk(stmt):
        if isinstance(n, ast.Call) and isinstance(n.func, (ast.Name, ast.Attribute)):
            name = n.func.id if isinstance(n.func, ast.Name) else n.func.attr
            passed = [*n.args, *(k.value for k in n.keywords)]
            if isinstance(n.func, ast.Attribute):
                passed.append(n.func.value)  # a method's object is its first argument
            s.arguments.setdefault(name, set()).update(*(_read(a) for a in passed))
    s.calls = set(s.arguments)
    return s


def _names_only(value) -> bool:
    if isinstance(value, (ast.Tuple, ast.List)):
        return all(_names_only(e) for e in value.elts)
    return isinstance(value, ast.Name)


def _elements(s: Statement, targets, value) -> None:
    """What one entry of an assigned display reads, and which variable takes which
    position of a call's returned tuple."""
    if len(targets) != 1:
        return
    target = targets[0]
    if isinstance(target, ast.Name) and isinstance(value, (ast.List, ast.Tuple)):
        s.parts = {f"{target.id}[{i}]": _read(e) for i, e in enumerate(value.elts)}
    elif isinstance(target, ast.Name) and isinstance(value, ast.Dict):
        s.parts = {
            f"{target.id}[{k.value!r}]": _read(v)
            for k, v in zip(value.keys, value.values)
            if isinstance(k, ast.Constant)
        }
    elif isinstance(target, (ast.Tuple, ast.List)) and isinstance(value, ast.Call):
        s.unpacked = [_key(e) for e in target.elts]


def _key(node) -> str | None:
    """`x`, `self.params`, `grads['W1']`; a subscript by anything but a constant is its
    container's key."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _key(node.value)
        return f"{base}.{node.attr}" if base else None
    if isinstance(node, ast.Subscript):
        base = _key(node.value)
        if base and isinstance(node.slice, ast.Constant):
            return f"{base}[{node.slice.value!r}]"
        return base
    if isinstance(node, ast.Starred):
        return _key(node.value)
    return None


def _written(target) -> set[str]:
    if isinstance(target, (ast.Tuple, ast.List)):
        return set().union(*(_written(e) for e in target.elts)) if target.elts else set()
    key = _key(target)
    return {key} if key else set()


def _partial(target) -> set[str]:
    """What a write reads: `d[mask] = 0` keeps the rest of `d`, and reads `mask`;
    `grads['W1'] = ...` replaces that entry whole."""
    if isinstance(target, (ast.Tuple, ast.List)):
        return set().union(*(_partial(e) for e in target.elts)) if target.elts else set()
    if isinstance(target, ast.Subscript):
        index = _read(target.slice)
        if isinstance(target.slice, ast.Constant):
            return index
        return index | _written(target)
    return set()


def _read(node) -> set[str]:
    """The keys an expression reads, each in its most specific form (`grads['W1']`
    reads that entry, not the whole dict)."""
    if node is None:
        return set()
    if isinstance(node, (ast.Name, ast.Attribute, ast.Subscript)):
        key = _key(node)
        if key is not None:
            index = _read(node.slice) if isinstance(node, ast.Subscript) else set()
            return {key} | index
    keys: set[str] = set()
    for child in ast.iter_child_nodes(node):
        keys |= _read(child)
    return keys


def _mutated(value) -> set[str]:
    """A call statement may change its arguments and its receiver in place
    (`np.add.at(dW, idx, v)`, `dx.fill(0)`, `grads.update(...)`)."""
    if not isinstance(value, ast.Call):
        return set()
    keys = {_key(a) for a in value.args} - {None}
    if isinstance(value.func, ast.Attribute):
        receiver = _key(value.func.value)
        if receiver and not receiver.startswith(("np", "numpy", "torch", "jnp", "math")):
            keys.add(receiver)
    return keys


def _size_reads(node) -> set[str]:
    """Keys read for their size only: `len(y)`, `y.shape`, `X.shape[0]`."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "len":
        return {k for a in node.args if (k := _key(a))}
    if isinstance(node, ast.Attribute) and node.attr in ("shape", "size", "ndim", "dtype"):
        key = _key(node)
        return {key} if key else set()
    return set()
