"""RDFC-1.0 canonicalisation with an exact cache of JSON-LD expansion, one template per shape.

Nearly all the time of canonicalising a credential goes to pyld's expansion of its JSON-LD into
RDF statements; the canonical labelling of those statements (RDFC-1.0) is a small part. The
statements of a document follow its shape (`rdf_shapes`) and take its class values only as whole
literals and whole IRIs. So per shape, pyld runs once on the document with every class value
replaced by a placeholder, and the statements it gives, with each placeholder marked as a slot,
are the template (`rdf_templates`): for a document of that shape, filling the slots with its
values gives the statements pyld would give for it, and pyld's RDFC-1.0 labels and serialises
them as it does for the general algorithm.

That holds only where a placeholder stands for its value, and the cache proves it per shape
instead of assuming it:

- A probe run gives each unpinned string its own placeholder and reads where each one lands.
  A string is a slot only if its placeholder lands, and lands only as a whole literal (not an
  `xsd:double`, which pyld rewrites, nor `rdf:JSON`) or as a whole IRI, the latter only for a
  string pyld takes as an absolute IRI of the placeholder's scheme. Any other string's class is
  pinned: its value joins the template's key and the template is pyld's output for it.
- The template run gives every class one placeholder (equal strings merge as their values
  would) and must show each slot again, whole and nowhere else.
- Filling is refused when a value equals any IRI or literal the template holds as fixed (pyld
  would merge or deduplicate them); that document takes the general algorithm.
- The first document of every template is canonicalised by the general algorithm too, and the
  template is kept only if it gives the same text.

A shape that fails any of these is remembered as uncacheable. Everything that cannot use a
template runs the general algorithm, pyld's expansion and RDFC-1.0, and so do all errors.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from typing import Any, Final, TypeVar

import structlog

from services.issuer.ob3 import rdf_shapes
from services.issuer.ob3.rdf_shapes import Shape
from services.issuer.ob3.rdf_templates import (
    IRI,
    UNSAFE,
    Dataset,
    Template,
    compile_template,
    landings,
    nonce,
    rdfc,
    token,
)

log = structlog.get_logger()

ToDataset = Callable[[dict[str, Any]], Dataset]

# Shapes kept (and templates, separately): the issuer signs a few shapes per system; a
# thousand keeps every shape of a busy issuer while bounding what hostile input can fill.
MAX_SHAPES = 1024


class _Uncacheable:
    def __repr__(self) -> str:
        return "<uncacheable>"


UNCACHEABLE: Final = _Uncacheable()


@dataclass
class Stats:
    """Calls answered from a template, calls that built or checked one, and calls that took
    the general algorithm for another reason (no shape, an uncacheable one, refused values);
    `refuted`: templates whose first document's canonical form differed from the general
    algorithm's (dropped, never used; each would be a flaw in the proof above)."""

    hits: int = 0
    misses: int = 0
    general: int = 0
    refuted: int = 0

    @property
    def hit_rate(self) -> float:
        calls = self.hits + self.misses + self.general
        return self.hits / calls if calls else 0.0


Key = TypeVar("Key", bound=Hashable)
Value = TypeVar("Value")


class _Lru(OrderedDict[Key, Value]):
    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    def get_recent(self, key: Key) -> Value | None:
        found = self.get(key)
        if found is not None:
            self.move_to_end(key)
        return found

    def put(self, key: Key, value: Value) -> None:
        self[key] = value
        self.move_to_end(key)
        while len(self) > self.size:
            self.popitem(last=False)


Plan = tuple[int, ...]


class ShapeCache:
    """`canonical(document)`: pyld's RDFC-1.0 N-Quads of the document, from a template of its
    shape when one is proven. `to_dataset` is pyld's JSON-LD to RDF with the caller's options
    (document loader, safe mode); its errors pass through untouched."""

    def __init__(self, to_dataset: ToDataset, size: int = MAX_SHAPES) -> None:
        self._to_dataset = to_dataset
        self._size = size
        self._lock = threading.Lock()
        # Per shape key: which classes are pinned (or UNCACHEABLE).
        self._plans: _Lru[tuple[object, ...], Plan | _Uncacheable] = _Lru(size)
        # Per shape key and pinned values: the template (or UNCACHEABLE).
        self._templates: _Lru[tuple[object, ...], Template | _Uncacheable] = _Lru(size)
        self.stats = Stats()

    def __len__(self) -> int:
        """Shapes known (each with a plan, or known to be uncacheable)."""
        return len(self._plans)

    def clear(self) -> None:
        with self._lock:
            self._plans.clear()
            self._templates.clear()
            self.stats = Stats()

    def template_of(self, document: Mapping[str, Any]) -> Template | None:
        """The template the cache holds for this document, if any (for measures and tests)."""
        shape = rdf_shapes.shape(document)
        if shape is None:
            return None
        with self._lock:
            plan = self._plans.get(shape.key)
            if plan is None or isinstance(plan, _Uncacheable):
                return None
            found = self._templates.get((shape.key, tuple(shape.values[i] for i in plan)))
        return found if isinstance(found, Template) else None

    def general(self, document: Mapping[str, Any]) -> str:
        """The general algorithm: pyld's expansion of this very document, then RDFC-1.0."""
        return rdfc(self._to_dataset(dict(document)))

    def canonical(self, document: Mapping[str, Any]) -> str:
        shape = rdf_shapes.shape(document)
        if shape is None:
            self.stats.general += 1
            return self.general(document)
        with self._lock:
            plan = self._plans.get_recent(shape.key)
        if plan is None:
            self.stats.misses += 1
            return self._learn(document, shape)
        if isinstance(plan, _Uncacheable):
            self.stats.general += 1
            return self.general(document)
        template_key = (shape.key, tuple(shape.values[index] for index in plan))
        with self._lock:
            template = self._templates.get_recent(template_key)
        if template is None:
            self.stats.misses += 1
            canonical = self.general(document)
            # With nothing pinned, the plan's probe already was this template's.
            template = self._template(document, shape, plan, canonical, probed=not plan)
            self._remember(template_key, template)
            return canonical
        dataset = None if isinstance(template, _Uncacheable) else template.fill(shape.values)
        if dataset is None:
            self.stats.general += 1
            return self.general(document)
        self.stats.hits += 1
        return rdfc(dataset)

    def _learn(self, document: Mapping[str, Any], shape: Shape) -> str:
        """A shape seen for the first time: the general algorithm answers (and raises what it
        raises), then the shape's plan and first template are learned."""
        canonical = self.general(document)
        plan = self._plan(document, shape)
        with self._lock:
            self._plans.put(shape.key, plan)
        if not isinstance(plan, _Uncacheable):
            template_key = (shape.key, tuple(shape.values[index] for index in plan))
            template = self._template(document, shape, plan, canonical, probed=not plan)
            self._remember(template_key, template)
        return canonical

    def _remember(self, key: tuple[object, ...], template: Template | _Uncacheable | None) -> None:
        if template is None:
            return
        with self._lock:
            self._templates.put(key, template)

    def _plan(self, document: Mapping[str, Any], shape: Shape) -> Plan | _Uncacheable:
        """The classes to pin: those of which some string fails the probe."""
        unsafe = self._probe(document, shape, pinned=())
        if unsafe is None:
            return UNCACHEABLE
        return tuple(sorted(unsafe))

    def _probe(self, document: Mapping[str, Any], shape: Shape, pinned: Plan) -> set[int] | None:
        """The classes having a string whose own placeholder does not land as a slot may
        (None when pyld refuses the probe)."""
        marker = nonce(document)
        pinned_set = set(pinned)
        strings = [
            shape.values[cls] if cls in pinned_set else _placeholder(shape, cls, marker, leaf)
            for leaf, cls in enumerate(shape.leaves)
        ]
        probe = rdf_shapes.fill(document, iter(strings))
        try:
            dataset = self._to_dataset(probe)
        except Exception as error:  # whatever pyld refuses, the shape is not cached
            log.info("shape_cache.probe_refused", error=repr(error))
            return None
        landed = landings(dataset, marker, strings)
        unsafe = set(pinned)
        for leaf, cls in enumerate(shape.leaves):
            if cls in pinned_set:
                continue
            roles = landed.get(leaf)
            iri = rdf_shapes.iri_class(shape.values[cls]) is not None
            if not roles or UNSAFE in roles or (IRI in roles and not iri):
                unsafe.add(cls)
        return unsafe

    def _template(
        self,
        document: Mapping[str, Any],
        shape: Shape,
        plan: Plan,
        canonical: str,
        *,
        probed: bool = False,
    ) -> Template | _Uncacheable | None:
        """The template of this shape and pinned values, proven on `document` (whose general
        canonical form is `canonical`)."""
        if not probed:
            # The pinned values are real now: probe again with them in place.
            unsafe = self._probe(document, shape, plan)
            if unsafe is None or unsafe != set(plan):
                return UNCACHEABLE
        marker = nonce(document)
        pinned = set(plan)
        by_class = [
            value if cls in pinned else _placeholder(shape, cls, marker, cls)
            for cls, value in enumerate(shape.values)
        ]
        filled = rdf_shapes.fill(document, (by_class[cls] for cls in shape.leaves))
        try:
            dataset = self._to_dataset(filled)
        except Exception as error:  # as in the probe
            log.info("shape_cache.template_refused", error=repr(error))
            return UNCACHEABLE
        template = compile_template(dataset, marker, by_class, pinned)
        if template is None:
            return UNCACHEABLE
        check = template.fill(shape.values)
        if check is None:
            return None  # this document cannot prove it; the next of the shape will
        if rdfc(check) != canonical:
            self.stats.refuted += 1
            log.warning("shape_cache.template_differs", classes=len(shape.values))
            return UNCACHEABLE
        return template


def _placeholder(shape: Shape, cls: int, marker: str, number: int) -> str:
    return rdf_shapes.placeholder(shape.values[cls], token(marker, number))
