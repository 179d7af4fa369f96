"""Recognising raw exception text in an agent's RUN_ERROR message.

Owns `raw_exception(message)`: the one judgement of whether a `RUN_ERROR.message` is a
dump of an exception (its message as the runtime wrote it, its repr, a traceback, a
stack trace) rather than a message written for the person using the agent, and, when it
is, a short label saying what kind, for a finding to quote.

What is recognised is the text runtimes themselves produce, in the forms agents send it:
CPython (builtin exception messages, `Cls: message` lines, reprs, tracebacks), pydantic,
JavaScript engines (V8, SpiderMonkey, JavaScriptCore), Node.js, Zod, the JVM, .NET and
Go. Precision comes first: a human-written message flagged as a leak is worse than a
leak missed, so every pattern is text a person would not write to a user.

Readings worth knowing:

- A plain `Error: ` prefix followed by prose ("Error: upstream unavailable") is not
  flagged. It is what a person writes, and also what `String(new Error(msg))` gives in
  JavaScript; either way the words after it were written by someone for a reader.
  `Exception: ...` is read the same way. The prose after the prefix is still judged
  ("Error: Cannot read properties of undefined (reading 'x')" is flagged).
- A `Cls: message` line is flagged only when `Cls` is an exception class name: a
  CamelCase name ending in Error or Exception with something before the suffix
  (`ValueError`, `RateLimitError`, `AI_APICallError`), a Python builtin without that
  suffix (`StopIteration`, `KeyboardInterrupt`, ...), or a dotted `module.Class` path
  (`openai.APIConnectionError`, `httpx.ReadTimeout`). The same name followed by `(` is
  a Python repr (`KeyError('tools')`); alone on a line it is flagged too.
- A bare quoted key (`'tools'`, what `str(KeyError('tools'))` gives) is flagged only
  when it is the whole message.
- JavaScript's `x is not a function` / `x is not defined` are flagged anywhere only
  when `x` is plainly code (a dotted path, `(intermediate value)`); a bare identifier
  counts only when the message (or a line) is exactly that sentence, and for
  `is not defined` only for the globals that produce it in practice (`window`,
  `document`, `process`, `require`, ...).

Only the first `WINDOW` characters are read (line endings normalised to `\n`), and every
pattern is linear in them (no repeated groups, every repetition bounded, each try pinned
to a literal, a line start or a look-behind), so a hostile megabyte costs what 4,000
characters do: a few milliseconds.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Final

WINDOW: Final = 4000
"""How many leading characters of a message are read."""

_EXCERPT: Final = 100

# The label vocabulary: every label is one of these, then " (excerpt)".
PYTHON_TRACEBACK: Final = "a Python traceback"
PYTHON_EXCEPTION: Final = "a Python exception message"
PYTHON_REPR: Final = "a Python object repr"
PYDANTIC: Final = "a pydantic validation error"
JS_STACK: Final = "a JavaScript stack trace"
JS_TYPE_ERROR: Final = "a JavaScript TypeError"
JS_REFERENCE_ERROR: Final = "a JavaScript ReferenceError"
JS_SYNTAX_ERROR: Final = "a JavaScript SyntaxError"
JS_RANGE_ERROR: Final = "a JavaScript RangeError"
JS_EXCEPTION: Final = "a JavaScript exception message"
JS_OBJECT: Final = "a JavaScript object coerced to a string"
ZOD: Final = "a Zod validation error"
NODE: Final = "a Node.js error"
JAVA_EXCEPTION: Final = "a Java exception"
JAVA_STACK: Final = "a Java stack trace"
DOTNET_EXCEPTION: Final = "a .NET exception"
DOTNET_STACK: Final = "a .NET stack trace"
GO_PANIC: Final = "a Go runtime panic"
GO_GOROUTINES: Final = "a Go goroutine dump"
GO_ERROR: Final = "a Go error"
EXCEPTION: Final = "an exception message"

KINDS: Final[tuple[str, ...]] = (
    PYTHON_TRACEBACK,
    PYTHON_EXCEPTION,
    PYTHON_REPR,
    PYDANTIC,
    JS_STACK,
    JS_TYPE_ERROR,
    JS_REFERENCE_ERROR,
    JS_SYNTAX_ERROR,
    JS_RANGE_ERROR,
    JS_EXCEPTION,
    JS_OBJECT,
    ZOD,
    NODE,
    JAVA_EXCEPTION,
    JAVA_STACK,
    DOTNET_EXCEPTION,
    DOTNET_STACK,
    GO_PANIC,
    GO_GOROUTINES,
    GO_ERROR,
    EXCEPTION,
)
"""Every label `raw_exception` returns starts with one of these."""

_JS_KINDS: Final = {
    "TypeError": JS_TYPE_ERROR,
    "ReferenceError": JS_REFERENCE_ERROR,
    "SyntaxError": JS_SYNTAX_ERROR,
    "RangeError": JS_RANGE_ERROR,
}

# ---------------------------------------------------------------------------------------
# Exception class names

# Python builtins (and the stdlib ones agents leak most) that only Python has. TypeError
# and SyntaxError are in both Python and JavaScript, so they name no language alone.
_PYTHON_CLASSES: Final = frozenset(
    {
        "ArithmeticError",
        "AssertionError",
        "AttributeError",
        "BaseExceptionGroup",
        "BlockingIOError",
        "BrokenPipeError",
        "BufferError",
        "CancelledError",
        "ChildProcessError",
        "ConnectionAbortedError",
        "ConnectionError",
        "ConnectionRefusedError",
        "ConnectionResetError",
        "EOFError",
        "ExceptionGroup",
        "FileExistsError",
        "FileNotFoundError",
        "FloatingPointError",
        "GeneratorExit",
        "ImportError",
        "IndentationError",
        "IndexError",
        "InterruptedError",
        "IOError",
        "IsADirectoryError",
        "JSONDecodeError",
        "KeyboardInterrupt",
        "KeyError",
        "LookupError",
        "MemoryError",
        "ModuleNotFoundError",
        "NameError",
        "NotADirectoryError",
        "NotImplementedError",
        "OSError",
        "OverflowError",
        "PermissionError",
        "ProcessLookupError",
        "RecursionError",
        "RuntimeError",
        "StopAsyncIteration",
        "StopIteration",
        "SystemExit",
        "TabError",
        "UnboundLocalError",
        "UnicodeDecodeError",
        "UnicodeEncodeError",
        "UnicodeError",
        "ValueError",
        "ZeroDivisionError",
    }
)
# Python exception classes whose names do not end in Error or Exception.
_PYTHON_UNSUFFIXED: Final = frozenset(
    {
        "BaseExceptionGroup",
        "ExceptionGroup",
        "GeneratorExit",
        "KeyboardInterrupt",
        "StopAsyncIteration",
        "StopIteration",
        "SystemExit",
    }
)
# JavaScript builtins that Python has no class of the same name for. (Python's
# ReferenceError is for weak references and rare; JavaScript's is everywhere.)
_JS_CLASSES: Final = frozenset(
    {"AbortError", "AggregateError", "EvalError", "RangeError", "ReferenceError", "URIError"}
)
_JAVA_ROOTS: Final = frozenset(
    {
        "android",
        "androidx",
        "com",
        "io",
        "jakarta",
        "java",
        "javax",
        "kotlin",
        "kotlinx",
        "net",
        "org",
        "scala",
    }
)
_DOTNET_ROOTS: Final = frozenset({"System", "Microsoft"})

# A dotted name, then what follows it: `: ` (a message line), `(` (a repr) or the end of
# the line. The name is matched as one flat run of word characters and dots and judged
# in Python (`_class_kind`); the look-behind pins each try to the start of a name.
_CLASS_TOKEN = re.compile(r"(?<![\w.$/@-])([A-Za-z_][\w.]{0,200})(: |\(|:?$)", re.MULTILINE)
_CAMEL = re.compile(r"[A-Z][A-Za-z0-9_]*")
_MODULE = re.compile(r"_?[a-z][a-z0-9_]+")


def _class_kind(token: str, follow: str, line: str) -> str | None:
    """The kind a `token` naming an exception class gives, or None if it names none."""
    parts = token.split(".")
    if any(not part for part in parts):
        return None
    name = parts[-1]
    modules = parts[:-1]
    if not _CAMEL.fullmatch(name):
        return None
    suffixed = any(
        name.endswith(suffix) and len(name) > len(suffix) for suffix in ("Error", "Exception")
    )
    if follow == "(" and name in ("Exception", "BaseException"):
        suffixed = True  # `Exception('boom')`: the repr of a bare Exception
    # `httpx.ReadTimeout: ...`: a dotted path names a class whatever its suffix
    if not suffixed and name not in _PYTHON_UNSUFFIXED and (not modules or follow != ": "):
        return None
    if follow not in (": ", "(") and line.strip().rstrip(":") != token:
        return None  # a class name mid-sentence is talk about an error, not a dump
    if modules:
        if modules[0] in _DOTNET_ROOTS and name.endswith("Exception"):
            return DOTNET_EXCEPTION
        if modules[0] in _JAVA_ROOTS and len(modules) >= 2:
            return JAVA_EXCEPTION
        if not all(_MODULE.fullmatch(module) for module in modules):
            return None
        return PYTHON_EXCEPTION
    if follow == "(" or name in _PYTHON_CLASSES:
        return PYTHON_EXCEPTION
    if name in _JS_CLASSES:
        return _JS_KINDS.get(name, JS_EXCEPTION)
    if name.startswith("AI_"):
        return JS_EXCEPTION  # Vercel AI SDK: `AI_APICallError`, `AI_TypeValidationError`
    return EXCEPTION


# ---------------------------------------------------------------------------------------
# Traces

_PY_TRACEBACK = re.compile(
    r"Traceback \(most recent call last\)"
    r'|^[ \t]*File "[^"\n]{1,500}", line \d{1,7}',
    re.MULTILINE,
)
_JS_FRAME = re.compile(
    # `at fn (/app/x.js:12:5)`, `at async fn (file:///app/x.mjs:3:9)`,
    # `at new Promise (<anonymous>)`, `at fn [as handle] (node:internal/...:95:5)`
    r"^[ \t]*at (?:async )?(?:new )?[^\s()]{1,300}(?: \[as [^\]\n]{1,100}\])?"
    r" \((?:<anonymous>|native|[^\n]{1,500}:\d{1,7}:\d{1,7})\)"
    # `at /app/x.js:12:5`, `at file:///app/x.mjs:3:9`, `at node:internal/x:1:2`
    r"|^[ \t]*at (?:async )?(?:file://|node:|webpack|https?://|/|[A-Za-z]:\\)"
    r"[^\s()]{0,500}:\d{1,7}:\d{1,7}[ \t]*$",
    re.MULTILINE,
)
_JAVA_FRAME = re.compile(
    r"^[ \t]*at [\w$.<>/]{1,300}"
    r"\((?:[\w$-]{1,200}\.(?:java|kt|scala|groovy|clj):\d{1,7}|Native Method|Unknown Source)\)",
    re.MULTILINE,
)
_JAVA_TEXT = re.compile(
    r'\bException in thread "[^"\n]{1,200}" '
    r"|(?<![\w.$])(?:java|javax|jakarta|kotlin|kotlinx|scala|android|androidx)"
    r"\.[\w.$]{1,200}(?:Exception|Error)\b"
)
_DOTNET_FRAME = re.compile(
    r"^[ \t]*at [\w.`<>|]{1,300}\([^()\n]{0,300}\) in [^\n]{1,300}:line \d{1,7}",
    re.MULTILINE,
)
_DOTNET_TEXT = re.compile(r"\bObject reference not set to an instance of an object")
_GO_PANIC = re.compile(
    r"\bpanic: (?:runtime error: |assignment to entry in nil map|interface conversion: "
    r"|send on closed channel|close of (?:closed|nil) channel|sync: |reflect: )"
    r"|\bruntime error: (?:invalid memory address or nil pointer dereference"
    r"|index out of range \[|slice bounds out of range|integer divide by zero)"
    r"|\bfatal error: (?:all goroutines are asleep|concurrent map )"
)
_GO_GOROUTINE = re.compile(r"^goroutine \d{1,9} \[[^\]\n]{1,80}\]:", re.MULTILINE)
_GO_ERROR = re.compile(
    r"\bjson: cannot unmarshal [\w ]{1,40} into Go (?:struct field|value of type) "
    r"|\bdial (?:tcp|udp|unix)[46]?(?: |: )"
)

# ---------------------------------------------------------------------------------------
# Validation dumps

_ZOD_CODE = re.compile(
    r'"code"\s{0,10}:\s{0,10}"(?:invalid_type|invalid_literal|invalid_union'
    r"|invalid_union_discriminator|invalid_enum_value|unrecognized_keys|invalid_arguments"
    r"|invalid_return_type|invalid_date|invalid_string|too_small|too_big"
    r"|invalid_intersection_types|not_multiple_of|not_finite|invalid_value|invalid_format"
    r'|invalid_key|invalid_element|custom)"'
)
_ZOD_PATH = re.compile(r'"path"\s{0,10}:\s{0,10}\[')
_PYDANTIC = re.compile(
    r"\b\d{1,5} validation errors? for [A-Za-z_][\w.\[\]]{0,200}"
    r"|\[type=[a-z_]{1,60}, input_value="
    r"|https://errors\.pydantic\.dev/"
)

# ---------------------------------------------------------------------------------------
# Messages: (pattern, the class that produces the text)

_PYTHON_MESSAGES: Final[tuple[tuple[re.Pattern[str], str], ...]] = tuple(
    (re.compile(pattern), cls)
    for pattern, cls in (
        (
            r"'[\w.]{1,100}' object is not (?:iterable|callable|subscriptable|an iterator"
            r"|a mapping|reversible|an async iterator)",
            "TypeError",
        ),
        (
            r"'[\w.]{1,100}' object does not support (?:item assignment|item deletion"
            r"|the (?:asynchronous )?context manager protocol)",
            "TypeError",
        ),
        (r"'[\w.]{1,100}' object has no attribute '", "AttributeError"),
        (r"\bmodule '[\w.]{1,200}' has no attribute '", "AttributeError"),
        (r"\btype object '[\w.]{1,100}' has no attribute '", "AttributeError"),
        (r"\bobject of type '[\w.]{1,100}' has no len\(\)", "TypeError"),
        (r"\b(?:list|tuple|string|bytearray|deque|range object) index out of range", "IndexError"),
        (r"\b(?:list|tuple|string) indices must be integers", "TypeError"),
        (r"\bunsupported operand type\(s\) for ", "TypeError"),
        (r"\bcan only concatenate (?:str|list|tuple) \(not \"[\w.]{1,100}\"\) to ", "TypeError"),
        (r"\bname '\w{1,100}' is not defined", "NameError"),
        (
            r"\bcannot access local variable '\w{1,100}' where it is not associated with a value",
            "UnboundLocalError",
        ),
        (r"\blocal variable '\w{1,100}' referenced before assignment", "UnboundLocalError"),
        (r"\bmissing \d{1,3} required (?:positional|keyword-only) arguments?", "TypeError"),
        (r"\bgot an unexpected keyword argument '\w{1,100}'", "TypeError"),
        (r"\bgot multiple values for (?:keyword )?argument '\w{1,100}'", "TypeError"),
        (
            r"\btakes (?:from \d{1,3} to )?\d{1,3} positional arguments? but \d{1,3} "
            r"(?:were|was) given",
            "TypeError",
        ),
        (r"\binvalid literal for int\(\) with base \d{1,2}: ", "ValueError"),
        (r"\bcould not convert string to float: ", "ValueError"),
        (r"\b(?:not enough|too many) values to unpack \(expected \d", "ValueError"),
        (r"\bObject of type '?[\w.]{1,100}'? is not JSON serializable", "TypeError"),
        (
            r"\bExpecting (?:value|property name enclosed in double quotes|',' delimiter"
            r"|':' delimiter): line \d{1,7} column \d{1,7} \(char \d{1,9}\)",
            "json.JSONDecodeError",
        ),
        (r"\bNo module named '[\w.]{1,200}'", "ModuleNotFoundError"),
        (r"\bcannot import name '\w{1,100}' from '[\w.]{1,200}'", "ImportError"),
        (r"\bmaximum recursion depth exceeded", "RecursionError"),
        (r"\bdictionary changed size during iteration", "RuntimeError"),
        (r"\basyncio\.run\(\) cannot be called from a running event loop", "RuntimeError"),
        (r"\bcoroutine '[\w.<>]{1,200}' was never awaited", "RuntimeWarning"),
        (r"\bobject [\w.]{1,100} can't be used in 'await' expression", "TypeError"),
        (r"\[Errno -?\d{1,5}\] ", "OSError"),
        # openai / anthropic SDKs: `str(APIStatusError)` is the status and the body's repr
        (r"\bError code: \d{3} - \{'", "APIStatusError"),
        # pydantic-ai: `str(ModelHTTPError)`
        (r"\bstatus_code: \d{3}, model_name: ", "ModelHTTPError"),
    )
)

# `x is not defined` from a bare identifier: only the globals it happens to in practice.
_JS_GLOBALS = (
    r"(?:window|document|process|require|module|exports|__dirname|__filename|fetch"
    r"|globalThis|Buffer|localStorage|sessionStorage|navigator|structuredClone"
    r"|TextEncoder|TextDecoder|ReadableStream|crypto|React|self)"
)
_JS_MESSAGES: Final[tuple[tuple[re.Pattern[str], str], ...]] = tuple(
    (re.compile(pattern, re.MULTILINE), cls)
    for pattern, cls in (
        (
            r"\bCannot (?:read|set) propert(?:y|ies) of (?:undefined|null)"
            r"(?: \((?:reading|setting) '[^'\n]{0,200}'\))?",
            "TypeError",
        ),
        (r"\bCannot (?:read|set) property '[^'\n]{0,200}' of (?:undefined|null)", "TypeError"),
        (
            r"\bCannot destructure property '[^'\n]{0,200}' of '[^'\n]{0,200}' as it is "
            r"(?:undefined|null)",
            "TypeError",
        ),
        (r"\b(?:undefined|null) is not an object \(evaluating '", "TypeError"),
        (r"\bis not iterable \(cannot read property Symbol\(Symbol\.iterator\)\)", "TypeError"),
        # a dotted path or `(intermediate value)` is code wherever it stands
        (
            r"(?<![\w$.])[\w$]{1,100}(?:\.|\?\.)[\w$.?]{1,200} is not a (?:function|constructor)\b",
            "TypeError",
        ),
        (r"\(intermediate value\)[\w$.()]{0,200} is not a (?:function|constructor)\b", "TypeError"),
        # a bare identifier only when the line is exactly the engine's sentence
        (
            r"^[ \t]*(?:TypeError: )?[a-z_$][\w$]{0,100} is not (?:a function|a constructor"
            r"|iterable|async iterable)[ \t]*$",
            "TypeError",
        ),
        (
            r"^[ \t]*(?:ReferenceError: )?" + _JS_GLOBALS + r" is not defined[ \t]*$",
            "ReferenceError",
        ),
        (r"\bCannot access '[\w$]{1,100}' before initialization", "ReferenceError"),
        (r"\bAssignment to constant variable\.", "TypeError"),
        (r"\bConverting circular structure to JSON\b", "TypeError"),
        (r"\bDo not know how to serialize a BigInt\b", "TypeError"),
        (r"\bMaximum call stack size exceeded\b", "RangeError"),
        (r"\bUnexpected token [^\n]{1,40}? in JSON at position \d", "SyntaxError"),
        (r"\bUnexpected token '[^'\n]{1,4}', \"", "SyntaxError"),
        (r"\bUnexpected end of JSON input\b", "SyntaxError"),
        (r"\bUnexpected non-whitespace character after JSON at position \d", "SyntaxError"),
        (r"\bUnterminated string in JSON at position \d", "SyntaxError"),
        (r"\"undefined\" is not valid JSON\b", "SyntaxError"),
        (r"\bJSON\.parse: [a-z]", "SyntaxError"),
        (r"\bJSON Parse error: [A-Z]", "SyntaxError"),
    )
)
# Pronouns and the like, which make `x is not a function` a sentence, not an engine's text.
_NOT_IDENTIFIERS: Final = frozenset(
    {"it", "this", "that", "which", "what", "there", "he", "she", "they", "one", "so"}
)
_BARE_SUBJECT = re.compile(r"^[ \t]*(?:TypeError: )?([a-z_$][\w$]{0,100}) is not ")

_NODE = re.compile(
    r"\b(?:connect|getaddrinfo|read|write|listen|spawn|open|opendir|scandir|stat|lstat"
    r"|unlink|mkdir|rename|access|querySrv) (?:ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENOTFOUND"
    r"|EAI_AGAIN|EPIPE|EHOSTUNREACH|ENETUNREACH|EADDRINUSE|ENOENT|EACCES|EPERM|EISDIR"
    r"|ENOTDIR|EMFILE|ECONNABORTED|EPROTO)\b"
    r"|^E(?:NOENT|ACCES|PERM|ISDIR|NOTDIR|EXIST|MFILE): [a-z][^\n]{0,200}?, (?:open|stat"
    r"|lstat|scandir|opendir|mkdir|unlink|access|rename|readlink|realpath) '"
    r"|\[ERR_[A-Z][A-Z_]{1,80}\]"
    r"|^(?:Error: )?socket hang up[ \t]*$",
    re.MULTILINE,
)

_JS_OBJECT = re.compile(
    r"\[object (?:Object|Promise|Array|Response|Undefined|Null|Error|Function|AsyncFunction"
    r"|Map|Set|Module)\]"
)
_PYTHON_REPR = re.compile(
    r"<[^<>\n]{1,300} at 0x[0-9a-fA-F]{4,16}>"
    r"|<class '[\w.]{1,200}'>"
    r"|<module '[\w.]{1,200}' (?:from '|\(built-in\))"
)
_KEY_REPR = re.compile(r"'[A-Za-z_][\w.\-]{0,63}'")

# ---------------------------------------------------------------------------------------
# Excerpts


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _EXCERPT else text[: _EXCERPT - 1] + "…"


def _line_bounds(text: str, pos: int) -> tuple[int, int]:
    start = text.rfind("\n", 0, pos) + 1
    end = text.find("\n", pos)
    return start, len(text) if end == -1 else end


def _rest_of_line(text: str, pos: int) -> str:
    return text[pos : _line_bounds(text, pos)[1]]


_CALLABLE_BEFORE = re.compile(r"(?<![\w.])[\w.]{1,200}\(\) \Z")


def _with_class(text: str, match: re.Match[str], cls: str) -> str:
    """The line of `match` when it starts with an exception class name; otherwise
    `cls: <the matched text to the end of its line>`, reaching back over a `fn() ` before
    it (`run() missing 1 required ...`) and over `cls: ` when it is there."""
    line_start, line_end = _line_bounds(text, match.start())
    line = text[line_start:line_end].strip()
    head = _CLASS_TOKEN.match(line)
    if head is not None and _class_kind(head.group(1), head.group(2), line) is not None:
        return _clip(line)  # the line names its class already: `litellm.RateLimitError: ...`
    start = match.start()
    before = text[max(line_start, start - 260) : start]
    callable_ = _CALLABLE_BEFORE.search(before)
    if callable_ is not None:
        start -= len(callable_.group())
        before = before[: callable_.start()]
    rest = _rest_of_line(text, start)
    for name in (cls, cls.rsplit(".", 1)[-1]):
        if before.endswith(name + ": "):
            return _clip(before[-len(name) - 2 :] + rest)
    return _clip(f"{cls.rsplit('.', 1)[-1]}: {rest}")


def _exception_line(text: str) -> str | None:
    """The last `Cls: message` (or bare `Cls`) line in a trace: the exception it ends in."""
    found: str | None = None
    for match in _CLASS_TOKEN.finditer(text):
        token, follow = match.group(1), match.group(2)
        start, end = _line_bounds(text, match.start())
        if text[start : match.start()].strip():
            continue  # not at the start of its line
        if _class_kind(token, follow, text[start:end]) is not None:
            found = text[match.start() : end]
    return found


def _first_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip():
            return line
    return ""


# ---------------------------------------------------------------------------------------
# Recognisers, tried in order: the first to recognise the text labels it.


def _traces(text: str) -> str | None:
    match = _PY_TRACEBACK.search(text)
    if match is not None:
        shown = _exception_line(text) or _rest_of_line(text, match.start())
        return f"{PYTHON_TRACEBACK} ({_clip(shown)})"
    for kind, frame in (
        (JS_STACK, _JS_FRAME),
        (JAVA_STACK, _JAVA_FRAME),
        (DOTNET_STACK, _DOTNET_FRAME),
    ):
        match = frame.search(text)
        if match is not None:
            # the exception line heads the trace; a trace cut above it shows its first frame
            head = _first_line(text)
            shown = match.group() if frame.match(head) else head
            return f"{kind} ({_clip(shown)})"
    match = _DOTNET_TEXT.search(text)
    if match is not None:
        line_start, _ = _line_bounds(text, match.start())
        return f"{DOTNET_EXCEPTION} ({_clip(_rest_of_line(text, line_start).strip())})"
    match = _GO_PANIC.search(text)
    if match is not None:
        return f"{GO_PANIC} ({_clip(_rest_of_line(text, match.start()))})"
    match = _GO_GOROUTINE.search(text)
    if match is not None:
        return f"{GO_GOROUTINES} ({_clip(match.group())})"
    match = _GO_ERROR.search(text)
    if match is not None:
        return f"{GO_ERROR} ({_clip(_rest_of_line(text, match.start()))})"
    match = _JAVA_TEXT.search(text)
    if match is not None:
        return f"{JAVA_EXCEPTION} ({_clip(_rest_of_line(text, match.start()))})"
    return None


def _dumps(text: str) -> str | None:
    code = _ZOD_CODE.search(text)
    if code is not None and _ZOD_PATH.search(text) is not None:
        return f"{ZOD} ({_clip(code.group())})"
    match = _PYDANTIC.search(text)
    if match is not None:
        line_start, _ = _line_bounds(text, match.start())
        return f"{PYDANTIC} ({_clip(_rest_of_line(text, line_start))})"
    return None


def _messages(text: str) -> str | None:
    for pattern, cls in _PYTHON_MESSAGES:
        match = pattern.search(text)
        if match is not None:
            return f"{PYTHON_EXCEPTION} ({_with_class(text, match, cls)})"
    for pattern, cls in _JS_MESSAGES:
        for match in pattern.finditer(text):
            subject = _BARE_SUBJECT.match(match.group())
            if subject is not None and subject.group(1) in _NOT_IDENTIFIERS:
                continue
            shown = _rest_of_line(text, match.start()).strip()
            prefix = cls + ": "
            if shown.startswith(prefix):
                shown = shown[len(prefix) :]
            return f"{_JS_KINDS[cls]} ({_clip(shown)})"
    match = _NODE.search(text)
    if match is not None:
        line_start, _ = _line_bounds(text, match.start())
        return f"{NODE} ({_clip(_rest_of_line(text, line_start))})"
    return None


def _reprs(text: str) -> str | None:
    match = _JS_OBJECT.search(text)
    if match is not None:
        return f"{JS_OBJECT} ({match.group()})"
    match = _PYTHON_REPR.search(text)
    if match is not None:
        return f"{PYTHON_REPR} ({_clip(match.group())})"
    return None


def _class_lines(text: str) -> str | None:
    for match in _CLASS_TOKEN.finditer(text):
        token, follow = match.group(1), match.group(2)
        start, end = _line_bounds(text, match.start())
        kind = _class_kind(token, follow, text[start:end])
        if kind is not None:
            shown = text[match.start() : end]
            if kind in _JS_KINDS.values() and follow == ": ":
                shown = shown[len(token) + 2 :]  # the kind names the class
            return f"{kind} ({_clip(shown)})"
    return None


def _key_repr(text: str) -> str | None:
    stripped = text.strip()
    if _KEY_REPR.fullmatch(stripped):
        return f"{PYTHON_EXCEPTION} (KeyError: {_clip(stripped)})"
    return None


_RECOGNISERS: Final[tuple[Callable[[str], str | None], ...]] = (
    _traces,
    _dumps,
    _messages,
    _reprs,
    _class_lines,
    _key_repr,
)


def raw_exception(message: object) -> str | None:
    """What raw exception text `message` is, as a short label, or None.

    None when `message` is not a string, is blank, or reads like a message written for
    a person. Otherwise a label that starts with one of `KINDS` and ends with an excerpt
    in parentheses, e.g. "a Python exception message (TypeError: 'NoneType' object is not
    iterable)" or "a JavaScript stack trace (TypeError: x is not a function)". Only the
    first `WINDOW` characters are read.
    """
    if not isinstance(message, str):
        return None
    text = message[:WINDOW].replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        return None
    for recognise in _RECOGNISERS:
        label = recognise(text)
        if label is not None:
            return label
    return None
