"""appforge: app requests to validated GitOps bundles and Komodo deployments.

A thin Python face over the C++ core (``appforge._core``): every rule lives in the core; this
package only adds Python types, exceptions and file writing.

    >>> import appforge
    >>> engine = appforge.Engine()
    >>> request = appforge.load_request(open("whoami.yaml").read())
    >>> engine.validate(request)
    []
    >>> engine.render(request).write("out/whoami")
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple, Union

from . import _core

__all__ = [
    "AppforgeError",
    "ApplyError",
    "ApplyResult",
    "Bundle",
    "Diagnostic",
    "Engine",
    "KustomizationEdit",
    "Plan",
    "Request",
    "RequestSource",
    "Risk",
    "RiskReason",
    "ValidationError",
    "__version__",
    "load_request",
]

__version__: str = _core.version()

PathLike = Union[str, "os.PathLike[str]"]
RequestSource = Union["Request", str, bytes, Mapping[str, Any]]


@dataclass(frozen=True)
class Diagnostic:
    """One problem with the input, located by a JSON pointer into the document."""

    path: str
    code: str
    message: str
    severity: str  # "error" or "warning"

    @property
    def is_error(self) -> bool:
        """Errors block a workflow; warnings never do."""
        return self.severity == "error"

    def __str__(self) -> str:
        prefix = "warning: " if self.severity == "warning" else ""
        return f"{self.path or '/'}: {prefix}{self.message} [{self.code}]"


def _diagnostics(raw: Sequence[Tuple[str, str, str, str]]) -> List[Diagnostic]:
    return [Diagnostic(*d) for d in raw]


def _komodo_value(value: Any, kind: str, raw: Sequence[Tuple[str, str, str, str]]) -> Any:
    # What the core made of a NAS request, or the error that says why it made nothing.
    if value is not None:
        return value
    diagnostics = _diagnostics(raw)
    if kind == "app" and not any(d.is_error for d in diagnostics):
        raise AppforgeError("this is a GitOps request (no komodoRequest member); use Engine.render")
    raise ValidationError("the request is not a valid NAS request", diagnostics)


class AppforgeError(Exception):
    """Base class of every error appforge raises."""


class ValidationError(AppforgeError, ValueError):
    """The input is not usable; ``diagnostics`` lists every problem (errors and warnings)."""

    diagnostics: List[Diagnostic]

    def __init__(self, message: str, diagnostics: Sequence[Diagnostic]) -> None:
        self.diagnostics = list(diagnostics)
        errors = [str(d) for d in self.diagnostics if d.is_error]
        super().__init__(message + (":\n  " + "\n  ".join(errors) if errors else ""))

    @property
    def errors(self) -> List[Diagnostic]:
        """Only the diagnostics that block the workflow."""
        return [d for d in self.diagnostics if d.is_error]


class ApplyError(AppforgeError):
    """A git step of apply failed; no branch was created and the repo is as before; see ``diagnostics``."""

    diagnostics: List[Diagnostic]

    def __init__(self, message: str, diagnostics: Sequence[Diagnostic]) -> None:
        self.diagnostics = list(diagnostics)
        super().__init__(message)


class Request:
    """A parsed request document (GitOps app or Komodo NAS request), editable and writable back."""

    __slots__ = ("_doc",)

    def __init__(self, document: Mapping[str, Any]) -> None:
        value = _core.normalize(document)
        if not isinstance(value, dict):
            raise TypeError("a request document must be a mapping")
        self._doc: Dict[str, Any] = value

    @property
    def kind(self) -> str:
        """``"komodo"`` for a NAS request (it has a komodoRequest member), else ``"app"``."""
        return "komodo" if _core.is_komodo(self._doc) else "app"

    @property
    def app_name(self) -> Optional[str]:
        """The request's appName, if it has one."""
        name = self._doc.get("appName")
        return name if isinstance(name, str) else None

    def __getitem__(self, key: str) -> Any:
        return self._doc[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self._doc[key] = _core.normalize(value)

    def __delitem__(self, key: str) -> None:
        del self._doc[key]

    def __contains__(self, key: object) -> bool:
        return key in self._doc

    def get(self, key: str, default: Any = None) -> Any:
        """The value of a top-level field, or default."""
        return self._doc.get(key, default)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Request) and self._doc == other._doc

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Request(kind={self.kind!r}, app_name={self.app_name!r})"

    def to_dict(self) -> Dict[str, Any]:
        """A deep copy of the document."""
        result: Dict[str, Any] = _core.normalize(self._doc)
        return result

    def to_yaml(self) -> str:
        """Deterministic YAML (sorted keys) that loads back to an equal request."""
        return _core.to_yaml(self._doc)

    def to_json(self) -> str:
        """Deterministic pretty JSON (sorted keys) that loads back to an equal request."""
        return _core.to_json(self._doc)


def load_request(source: Union[str, bytes, Mapping[str, Any], "os.PathLike[str]"]) -> Request:
    """Reads a request from YAML or JSON text, a dict, or a file path (``pathlib.Path``).

    Raises ValidationError when the text is not one readable YAML/JSON mapping; it does not
    validate the request itself (``Engine.validate`` does).
    """
    if isinstance(source, os.PathLike):
        source = Path(source).read_bytes()
    if isinstance(source, (str, bytes)):
        text = source.decode("utf-8") if isinstance(source, bytes) else source
        value, raw = _core.parse(text)
        diagnostics = _diagnostics(raw)
        if value is None:
            raise ValidationError("the request could not be read", diagnostics)
        if not isinstance(value, dict):
            raise ValidationError("a request must be a mapping (YAML) or object (JSON)", diagnostics)
        return Request(value)
    if isinstance(source, Mapping):
        return Request(source)
    raise TypeError(f"load_request() takes text, bytes, a mapping or a path, not {type(source).__name__}")


def _core_input(request: RequestSource) -> Any:
    if isinstance(request, Request):
        return request._doc
    if isinstance(request, (str, bytes, Mapping)):
        return request
    raise TypeError(f"expected a Request, text or a mapping, not {type(request).__name__}")


class Bundle:
    """The rendered manifests of one app: ``(filename, text)`` pairs in their fixed order."""

    __slots__ = ("app_name", "namespace", "files", "warnings", "_stream")

    def __init__(
        self,
        app_name: str,
        namespace: str,
        files: Sequence[Tuple[str, str]],
        stream: str,
        warnings: Sequence[Diagnostic] = (),
    ) -> None:
        self.app_name = app_name
        self.namespace = namespace
        self.files: List[Tuple[str, str]] = [(str(n), str(t)) for n, t in files]
        self.warnings: List[Diagnostic] = list(warnings)
        self._stream = stream

    @classmethod
    def _from_core(
        cls, app_name: str, namespace: str, files: List[Tuple[str, str]], stream: str, warnings: List[Diagnostic]
    ) -> "Bundle":
        # The core hands over fresh lists of str pairs: rechecking and copying them was a tenth of
        # a render's cost from Python (issue 7 allows 10% over C++ in all).
        b = cls.__new__(cls)
        b.app_name, b.namespace, b.files, b.warnings, b._stream = app_name, namespace, files, warnings, stream
        return b

    def __iter__(self) -> Iterator[Tuple[str, str]]:
        return iter(self.files)

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, filename: str) -> str:
        for name, text in self.files:
            if name == filename:
                return text
        raise KeyError(filename)

    def __repr__(self) -> str:
        return f"Bundle(app_name={self.app_name!r}, files={[n for n, _ in self.files]!r})"

    @property
    def filenames(self) -> List[str]:
        """The file names in bundle order (kustomization.yaml last)."""
        return [name for name, _ in self.files]

    def stream(self) -> str:
        """All Kubernetes objects as one multi-document YAML stream."""
        return self._stream

    def write(self, directory: PathLike, *, overwrite: bool = False) -> Path:
        """Writes the files into directory, all or nothing (staged, then renamed into place).

        Refuses a non-empty existing directory unless overwrite is true. Returns the directory.
        """
        target = Path(directory)
        status, error = _core.write_files(self.files, os.fspath(target), overwrite)
        if status == "exists":
            raise FileExistsError(error)
        if status == "bad_name":
            raise AppforgeError(error)
        if status != "ok":
            raise OSError(error)
        return target


@dataclass(frozen=True)
class RiskReason:
    """One reason a change needs review (code such as ``risk.external-ingress``)."""

    code: str
    message: str


@dataclass(frozen=True)
class Risk:
    """The risk verdict of a change set: ``"auto-merge"`` or ``"needs-review"`` with its reasons."""

    verdict: str
    reasons: Tuple[RiskReason, ...]

    @property
    def needs_review(self) -> bool:
        """True when a human must look before the change merges."""
        return self.verdict == "needs-review"


def _risk(raw: Mapping[str, Any]) -> Risk:
    return Risk(str(raw["verdict"]), tuple(RiskReason(str(r["code"]), str(r["message"])) for r in raw["reasons"]))


@dataclass(frozen=True)
class KustomizationEdit:
    """One entry added to an existing kustomization.yaml; every other byte of the file is kept."""

    path: str
    entry: str
    line: int  # 1-based line of the new entry in new_text
    old_text: str
    new_text: str


@dataclass(frozen=True)
class Plan:
    """The GitOps change set of a request against one repo; nothing has been written."""

    app_dir: str
    namespace_dir: str
    new_namespace: bool
    creates: Tuple[Tuple[str, str], ...]  # (repo path, content) of each new file
    edits: Tuple[KustomizationEdit, ...]
    branch: str
    commit_message: str
    pr_title: str
    pr_body: str
    risk: Risk
    warnings: Tuple[Diagnostic, ...]


@dataclass(frozen=True)
class ApplyResult:
    """A committed change set: the branch and commit to push, the PR text, and the updated request."""

    branch: str
    commit: str
    commit_message: str
    pr_title: str
    pr_body: str
    files: Tuple[Tuple[str, str], ...]  # (repo path, "create" or "edit")
    risk: Risk
    request: "Request"  # with featureBranch and commitSha recorded
    warnings: Tuple[Diagnostic, ...]


def _profile_text(profile: Union[None, str, Mapping[str, Any], "os.PathLike[str]"]) -> Tuple[Optional[str], str]:
    if profile is None:
        return None, "profile"
    if isinstance(profile, os.PathLike):
        path = Path(profile)
        return path.read_text(encoding="utf-8"), str(path)
    if isinstance(profile, str):
        return profile, "profile"
    if isinstance(profile, Mapping):
        return _core.to_json(profile), "profile"
    raise TypeError(f"profile must be text, a mapping or a path, not {type(profile).__name__}")


class Engine:
    """Profile, pattern catalog and schemas, loaded once; immutable and safe to share across threads.

    ``profile`` is YAML/JSON text, a mapping or a ``pathlib.Path`` (None: the shipped default);
    ``patterns`` is a directory (or several) of pattern files loaded over the built-in catalog.
    """

    __slots__ = ("_engine",)

    def __init__(
        self,
        profile: Union[None, str, Mapping[str, Any], "os.PathLike[str]"] = None,
        patterns: Union[None, PathLike, Sequence[PathLike]] = None,
    ) -> None:
        text, name = _profile_text(profile)
        if patterns is None:
            dirs: List[str] = []
        elif isinstance(patterns, (str, os.PathLike)):
            dirs = [os.fspath(patterns)]
        else:
            dirs = [os.fspath(p) for p in patterns]
        engine, raw = _core.create_engine(text, dirs, name)
        if engine is None:
            raise ValidationError("the engine could not be created", _diagnostics(raw))
        self._engine = engine

    @property
    def profile(self) -> Dict[str, Any]:
        """The effective cluster profile (every field, defaults filled in)."""
        result: Dict[str, Any] = self._engine.profile()
        return result

    @property
    def patterns(self) -> Dict[str, List[str]]:
        """Pattern ids by kind: ``{"storage": [...], "ingress": [...], "backup": [...], "workload": [...]}``."""
        return self._engine.pattern_ids()

    def validate(self, request: RequestSource) -> List[Diagnostic]:
        """Every diagnostic of a request (schema, then the rules); empty when it is clean.

        Unreadable text is reported as diagnostics too (codes ``parse.*``), never raised.
        """
        _, raw = self._engine.check(_core_input(request))
        return _diagnostics(raw)

    def is_valid(self, request: RequestSource) -> bool:
        """True when the request has no errors (warnings allowed)."""
        return not any(d.is_error for d in self.validate(request))

    def render(self, request: RequestSource) -> Bundle:
        """Validates, renders and verifies a GitOps request; raises ValidationError otherwise.

        The GIL is released while the core works, so threads can render in parallel.
        """
        bundle, raw = self._engine.render(_core_input(request))
        diagnostics = _diagnostics(raw)
        if bundle is None:
            raise ValidationError("the request did not render", diagnostics)
        app, namespace, files, stream = bundle
        return Bundle._from_core(app, namespace, files, stream, diagnostics)

    def komodo_payload(self, request: RequestSource) -> Dict[str, Any]:
        """The platform's Komodo payload of a valid NAS request (storageLocation filled in)."""
        result: Dict[str, Any] = _komodo_value(*self._engine.komodo_payload(_core_input(request)))
        return result

    def komodo_compose(self, request: RequestSource) -> str:
        """The docker-compose file (YAML text) Komodo deploys for a valid NAS request."""
        result: str = _komodo_value(*self._engine.komodo_compose(_core_input(request)))
        return result

    def komodo_plan(self, request: RequestSource, repo: Union[PathLike, Mapping[str, str]]) -> Dict[str, Any]:
        """The Resource Sync change set of a NAS request (GitOps for Komodo), without writing anything.

        A dict like ``appforge komodo plan --output json`` prints: ``stackDir``, ``syncFile``,
        ``creates``, ``edits``, ``branch``, ``commitMessage``, ``prTitle``, ``prBody``, ``risk``.
        ``repo`` is the checkout's top folder or a mapping ``{repo path: text}``. Raises
        ValidationError with every diagnostic when the request is invalid or conflicts with the repo.
        """
        target: Union[str, Dict[str, str]]
        if isinstance(repo, Mapping):
            target = {str(k): str(v) for k, v in repo.items()}
        else:
            target = _repo_dir(repo)
        raw_plan, ok, raw = self._engine.komodo_plan(_core_input(request), target)
        if not ok:
            raise ValidationError("the NAS request cannot be planned against this repo", _diagnostics(raw))
        result: Dict[str, Any] = raw_plan
        return result

    def komodo_apply(
        self, request: RequestSource, repo: PathLike, audit_log: Optional[PathLike] = None
    ) -> Dict[str, Any]:
        """Commits a NAS request's compose file and ``[[stack]]`` table on a new branch of the git
        checkout ``repo``, with the same refusals and plumbing as :meth:`apply`; returns the result
        dict ``appforge komodo apply`` prints (branch, commit, files, risk, request)."""
        log = None if audit_log is None else os.fspath(audit_log)
        raw_result, status, raw = self._engine.komodo_apply(_core_input(request), _repo_dir(repo), log)
        diagnostics = _diagnostics(raw)
        r: Dict[str, Any] = raw_result
        if status != 0:
            if r.get("outcome") == "failed":
                raise ApplyError(str(r.get("error", "apply failed")), diagnostics)
            if not diagnostics and r.get("error"):
                raise AppforgeError(str(r["error"]))
            raise ValidationError("the Resource Sync change set was not applied", diagnostics)
        return r

    def plan(self, request: RequestSource, repo: Union[PathLike, Mapping[str, str]]) -> Plan:
        """The change set of a GitOps request against a repo, without writing anything.

        ``repo`` is the checkout's top folder, or a mapping ``{repo path: text}`` held in memory.
        Raises ValidationError with every diagnostic when the request is invalid or conflicts
        with the repo (the app folder exists, a hostname is taken, a parent kustomization is
        missing or unreadable). The GIL is released while the core works.
        """
        target: Union[str, Dict[str, str]]
        if isinstance(repo, Mapping):
            target = {str(k): str(v) for k, v in repo.items()}
        else:
            target = _repo_dir(repo)
        raw_plan, ok, raw = self._engine.plan(_core_input(request), target)
        diagnostics = _diagnostics(raw)
        if raw_plan is None or not ok:
            raise ValidationError("the request cannot be planned against this repo", diagnostics)
        p: Dict[str, Any] = raw_plan
        return Plan(
            app_dir=p["appDir"],
            namespace_dir=p["namespaceDir"],
            new_namespace=bool(p["newNamespace"]),
            creates=tuple((f["path"], f["content"]) for f in p["creates"]),
            edits=tuple(
                KustomizationEdit(e["path"], e["entry"], int(e["line"]), e["oldText"], e["newText"])
                for e in p["edits"]
            ),
            branch=p["branch"],
            commit_message=p["commitMessage"],
            pr_title=p["prTitle"],
            pr_body=p["prBody"],
            risk=_risk(p["risk"]),
            warnings=tuple(diagnostics),
        )

    def apply(
        self, request: RequestSource, repo: PathLike, audit_log: Optional[PathLike] = None
    ) -> ApplyResult:
        """Plans, then commits the change set on its new feature branch in the git checkout
        ``repo`` (its top folder), with git plumbing: the working tree, index and HEAD are never
        touched and the branch is not checked out.

        Refuses an invalid request, any conflict, a dirty tree, a pending rebase/merge, a detached
        HEAD or an existing branch before git changes anything (ValidationError with the
        diagnostics); a failed git step creates no branch and changes nothing (ApplyError).
        ``audit_log`` gets one JSON line per call. The GIL is released while git runs.
        """
        repo_dir = _repo_dir(repo)
        log = None if audit_log is None else os.fspath(audit_log)
        raw_result, status, raw = self._engine.apply(_core_input(request), repo_dir, log)
        diagnostics = _diagnostics(raw)
        r: Dict[str, Any] = raw_result
        if status != 0:
            if r.get("outcome") == "failed":
                raise ApplyError(str(r.get("error", "apply failed")), diagnostics)
            if not diagnostics and r.get("error"):
                raise AppforgeError(str(r["error"]))
            raise ValidationError("the change set was not applied", diagnostics)
        if r.get("auditError"):
            raise AppforgeError(
                f"committed {r['commit']} on {r['branch']} but the audit log was not written: {r['auditError']}"
            )
        return ApplyResult(
            branch=r["branch"],
            commit=r["commit"],
            commit_message=r["commitMessage"],
            pr_title=r["prTitle"],
            pr_body=r["prBody"],
            files=tuple((f["path"], f["action"]) for f in r["files"]),
            risk=_risk(r["risk"]),
            request=Request(r["request"]),
            warnings=tuple(diagnostics),
        )


def _repo_dir(repo: PathLike) -> str:
    path = os.fspath(repo)
    if not os.path.isdir(path):
        raise NotADirectoryError(f"{path}: not a folder (the GitOps checkout's top folder)")
    return path
