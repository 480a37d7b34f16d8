"""The error types. Domain code raises these; only the CLI turns them into messages and exit codes."""

from __future__ import annotations

from dataclasses import dataclass


class AuditorError(Exception):
    """Base for every error caused by the user's input or environment (never a bug).

    The CLI prints these without a traceback and exits with code 2.
    """

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


@dataclass(frozen=True)
class Problem:
    """One problem found in an input file, with where it is."""

    file: str
    line: int | None
    column: int | None
    field: str
    message: str

    def render(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        field = f" {self.field}:" if self.field else ""
        return f"{where}:{field} {self.message}"


class InputFileError(AuditorError):
    """An input file (policy, labels, dataset) has one or more problems; all are listed."""

    def __init__(self, path: str, problems: list[Problem], hint: str | None = None) -> None:
        noun = "problem" if len(problems) == 1 else "problems"
        super().__init__(f"{path}: {len(problems)} {noun}", hint)
        self.path = path
        self.problems = problems


class PolicyError(InputFileError):
    """The policy file is invalid."""


class DatasetError(InputFileError):
    """The ALERT dataset file is malformed."""


class LabelsError(InputFileError):
    """A judge-validation labels file is malformed."""


class TargetError(AuditorError):
    """The model under test cannot be started or reached at all."""


class JudgeError(AuditorError):
    """The judge cannot be loaded or reached at all."""


class StoreError(AuditorError):
    """The run store is locked by another run, or unusable."""


class FetchError(AuditorError):
    """Downloading the dataset or a model failed."""


class OutputError(AuditorError):
    """An output file could not be written (disk full, read-only folder…); earlier outputs stay
    as they were, since every output is written to a temporary name and renamed."""

    @classmethod
    def writing(cls, path: object, exc: OSError) -> OutputError:
        import errno

        reason = exc.strerror or type(exc).__name__
        if exc.errno == errno.ENOSPC:
            hint = ("free some space and run the same command again: answers already made are "
                    "kept in the run's store, so nothing is generated twice")
        elif exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
            hint = "write somewhere you can: give another folder with --out"
        else:
            hint = "check the folder, then run the same command again"
        return cls(f"cannot write {path}: {reason}; the outputs there before are unchanged",
                   hint=hint)
