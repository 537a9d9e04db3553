"""Turn a dataclass of options into argparse flags (`--learning-rate`, `--flip/--no-flip`, ...).

Example:

>>> import argparse, dataclasses
>>> @dataclasses.dataclass
... class Options:
...     learning_rate: float = 0.01
...     flip: bool = True
>>> parser = argparse.ArgumentParser()
>>> add_dataclass_arguments(parser, Options, {})
>>> args = parser.parse_args(["--learning-rate", "0.1", "--no-flip"])
>>> args.learning_rate, args.flip, sorted(given_fields(args))
(0.1, False, ['flip', 'learning_rate'])
"""

from __future__ import annotations

import argparse
import dataclasses
import types
import typing


def _base_type(annotation):
    if isinstance(annotation, str):
        annotation = {"int": int, "float": float, "str": str, "bool": bool}.get(annotation.split("|")[0].strip(), str)
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        return next(a for a in typing.get_args(annotation) if a is not type(None))
    return annotation


#: The namespace attribute that lists the fields given on the command line.
_GIVEN = "_given_fields"


def _remember(namespace: argparse.Namespace, dest: str) -> None:
    setattr(namespace, _GIVEN, {*getattr(namespace, _GIVEN, ()), dest})


class _Store(argparse.Action):
    """`store`, remembering that the flag was given (so that a preset or a config never overrides it)."""

    def __call__(self, parser, namespace, values, option_string=None):
        setattr(namespace, self.dest, values)
        _remember(namespace, self.dest)


class _BooleanOptional(argparse.BooleanOptionalAction):
    def __call__(self, parser, namespace, values, option_string=None):
        super().__call__(parser, namespace, values, option_string)
        _remember(namespace, self.dest)


def given_fields(args: argparse.Namespace) -> set[str]:
    """The dataclass fields whose flags were on the command line (even when set to their default)."""
    return set(getattr(args, _GIVEN, ()))


def add_dataclass_arguments(parser: argparse.ArgumentParser, cls, helps: dict[str, str], skip=()) -> None:
    """Add one flag per field of `cls`: defaults from the dataclass; help from `helps`, else the field's metadata."""
    hints = typing.get_type_hints(cls)
    for field in dataclasses.fields(cls):
        if field.name in skip:
            continue
        flag = "--" + field.name.replace("_", "-")
        kind = _base_type(hints[field.name])
        default = field.default if field.default is not dataclasses.MISSING else None
        text = helps.get(field.name) or field.metadata.get("help", "")
        text = f"{text} (default: {default})" if text else f"default: {default}"
        if kind is bool:
            parser.add_argument(flag, action=_BooleanOptional, default=default, help=text)
        else:
            parser.add_argument(flag, action=_Store, type=kind, default=default, help=text, dest=field.name)


def dataclass_from_args(cls, args: argparse.Namespace, **overrides):
    """Build `cls` from the parsed flags."""
    values = {f.name: getattr(args, f.name) for f in dataclasses.fields(cls) if hasattr(args, f.name)}
    values.update(overrides)
    return cls(**values)
