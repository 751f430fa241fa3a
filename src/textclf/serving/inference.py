"""The one inference path: the tokenizer and the ONNX graph of a model folder, and `predict`.

The evaluate stage scores the test split through it, the server answers requests through it, and
the local cloud's endpoint runs the server: so the gate judges exactly the graph the endpoint
serves, int8 or not. No torch and no transformers here: `tokenizers` reads the tokenizer the train
stage saved (`tokenizer.json`), ONNX Runtime runs the graph it exported (`model.onnx`, or
`model.int8.onnx`).

Which graph is served is the model folder's own record, `serving.json` (the train stage writes it:
`deploy.serve.quantize` `none` or `int8` fixes the graph, `auto` picks int8 when it is within
`deploy.serve.int8_tolerance` of fp32 on the validation split). The folder wins over the params the
server was started with, so the graph the gate judged is the graph the endpoint loads, whatever
params.yaml the serving image carries. A folder without `serving.json` (trained before it existed)
serves the graph `deploy.serve.quantize` names (fp32 for `auto`).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from textclf.atomic import MAX_JSON_BYTES, read_regular
from textclf.text import normalise

# The graph each `deploy.serve.quantize` value serves; the train stage writes them.
GRAPH_FILES = {"none": "model.onnx", "int8": "model.int8.onnx"}
# The model folder's record of the graph it serves: {"quantize": "none" | "int8", "graph": file, ...}.
SERVING_FILE = "serving.json"
REQUIRED_FILES = ("config.json", "labels.json", "tokenizer.json", "tokenizer_config.json")
# What the exported graph may take; the train stage's export takes these names.
FEATURES = ("input_ids", "attention_mask", "token_type_ids")
# A text is cut to model.max_length x this many characters, once normalised, before it is
# tokenized (as prepare cuts the texts it counts): a token covers at most about 100 characters of
# normalised text (WordPiece makes a longer word one [UNK]; whitespace is one space), so the graph
# sees the same max_length tokens as before the cut, and a 10 MB text is not tokenized whole (163 s
# and 2.7 GB in evaluate). A cut text counts as truncated. Only a text whose first max_length
# tokens hold a word of thousands of characters (one [UNK]) can lose tokens to the cut.
CHARS_PER_TOKEN = 128


class ModelDirError(RuntimeError):
    """The model folder is missing or does not hold a trained, exported model."""


def graph_file(quantize: str) -> str:
    return GRAPH_FILES[quantize]


def served_quantize(model_dir: Path, quantize: str = "none") -> str:
    """The graph (`none` or `int8`) the folder serves: its serving.json, else `quantize` (params)."""
    record = model_dir / SERVING_FILE
    if not _present(record):
        # Trained before the folder recorded its choice: `auto` serves fp32, as such folders did.
        return quantize if quantize in GRAPH_FILES else "none"
    # A FIFO, a device or a folder in its place is refused, not taken for a missing record (the
    # graph would then come from params.yaml, not from the folder's own choice).
    _regular(record)
    chosen = _read_json(record).get("quantize")
    if chosen not in GRAPH_FILES:
        raise ModelDirError(
            f"{record}: quantize must be one of {sorted(GRAPH_FILES)}, got {_shown(chosen)}; the train "
            "stage writes this file: train again or restore the folder"
        )
    return chosen


def check_model_dir(model_dir: Path, quantize: str = "none", graph: str | None = None) -> list[str]:
    """The labels of the model in `model_dir`, or a ModelDirError that says what to do.
    `quantize` is deploy.serve.quantize; the folder's serving.json, when present, decides; `graph`
    checks that graph instead of the served one."""
    if model_dir.exists() and not model_dir.is_dir():
        raise ModelDirError(
            f"{model_dir} is a file, not a model folder: pass the folder the train stage writes "
            "(models/model) with --model-dir or TEXTCLF_MODEL_DIR; a model.tar.gz is served once "
            "extracted (tar -xzf <archive> -C <folder>)"
        )
    if not model_dir.is_dir():
        raise ModelDirError(
            f"model folder {model_dir} does not exist: train one with `make repro` (writes models/model); "
            f"`textclf serve` also takes another folder (--model-dir or TEXTCLF_MODEL_DIR)"
        )
    missing = [name for name in REQUIRED_FILES if not _present(model_dir / name)]
    if missing:
        raise ModelDirError(
            f"model folder {model_dir} lacks {', '.join(missing)}: it is not a model the train stage "
            f"wrote (expected HuggingFace save_pretrained files, the tokenizer and labels.json)"
        )
    for name in REQUIRED_FILES:
        _regular(model_dir / name)
    served = graph or served_quantize(model_dir, quantize)
    if _present(model_dir / graph_file(served)):
        _regular(model_dir / graph_file(served))
    else:
        if graph:
            said = f"the {graph} graph asked for"
        elif (model_dir / SERVING_FILE).is_file():
            said = f"the graph its {SERVING_FILE} serves ({served})"
        elif quantize in GRAPH_FILES:
            said = f"the graph deploy.serve.quantize: {quantize} serves"
        else:
            said = f"the graph deploy.serve.quantize: {quantize} serves without a {SERVING_FILE}"
        raise ModelDirError(
            f"model folder {model_dir} lacks {graph_file(served)}, {said}: the train stage exports it; "
            "run `dvc repro` (or `make repro`) with this params.yaml"
        )
    labels = _read_labels(model_dir)
    id2label = _read_json(model_dir / "config.json").get("id2label")
    by_index = _indexed(id2label) if isinstance(id2label, dict) else None
    if by_index != dict(enumerate(labels)):
        raise ModelDirError(
            f"{model_dir}: config.json id2label {_shown(id2label)} does not match labels.json "
            f"{_shown(labels)}; the folder mixes files of two models, or one was edited: train again"
        )
    return labels


def _indexed(id2label: dict) -> dict[int, object] | None:
    """id2label with integer keys ("0", "1", ... as JSON writes them), or None if a key is not one."""
    indexed = {}
    for key, value in id2label.items():
        if not (isinstance(key, str) and key.isascii() and key.isdigit() and len(key) < 10):
            return None
        indexed[int(key)] = value
    return indexed


def _shown(value: object, limit: int = 200) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + " ..."


def _present(path: Path) -> bool:
    """Whether anything is at `path`, a link to nothing included."""
    return path.is_symlink() or path.exists()


def not_regular(path: Path) -> str | None:
    """None for a regular file (or a link to one), else what is there instead: a FIFO would block
    its reader, a device (/dev/zero) be read without end, a folder or a dangling link is no file."""
    if path.is_file():
        return None
    if path.is_dir():
        return "a folder"
    if path.is_symlink() and not path.exists():
        return "a link to nothing"
    if not path.exists():
        return "nothing: it does not exist"
    if path.is_fifo():
        return "a FIFO (named pipe)"
    if path.is_char_device() or path.is_block_device():
        return "a device"
    return "a socket or another special file"


def _regular(path: Path) -> None:
    """ModelDirError unless `path` is a regular file (not_regular)."""
    kind = not_regular(path)
    if kind:
        raise ModelDirError(
            f"{path} is not a regular file ({kind}): the train stage writes regular files; restore the "
            "model folder (dvc checkout models/model) or train again"
        )


def _read_json(path: Path) -> dict:
    try:
        value = json.loads(read_regular(path, MAX_JSON_BYTES).decode("utf-8"))
    except (OSError, ValueError) as error:
        raise ModelDirError(f"{path}: not readable JSON ({error})") from None
    except RecursionError:
        raise ModelDirError(f"{path}: nested too deeply to be this model's JSON") from None
    if not isinstance(value, dict):
        raise ModelDirError(f"{path}: expected a JSON object")
    return value


def is_label_list(labels: object) -> bool:
    """What labels.json holds (prepare's and the train stage's): two or more distinct, non-empty
    strings."""
    return (
        isinstance(labels, list)
        and len(labels) >= 2
        and all(isinstance(label, str) and label for label in labels)
        and len(set(labels)) == len(labels)
    )


def _read_labels(model_dir: Path) -> list[str]:
    labels = _read_json(model_dir / "labels.json").get("labels")
    if not is_label_list(labels):
        raise ModelDirError(
            f'{model_dir / "labels.json"}: expected {{"labels": ["...", ...]}}, two or more distinct '
            "non-empty labels (the train stage writes it)"
        )
    return labels


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def weights_digest(model_dir: Path) -> str:
    """A short digest of the weights: names a model that came without a version."""
    weights = sorted(model_dir.glob("*.safetensors")) or sorted(model_dir.glob("*.bin"))
    digest = hashlib.sha256()
    for path in weights or [model_dir / "config.json"]:
        _regular(path)  # a FIFO held the server at "loading" for ever, a link to /dev/zero never ended
        try:
            digest.update(file_digest(path).encode())
        except OSError as error:
            raise ModelDirError(
                f"{path}: cannot be read ({error.strerror}); set MODEL_VERSION to name the model, or "
                "restore the model folder (dvc checkout models/model)"
            ) from None
    return digest.hexdigest()[:12]


def load_tokenizer(model_dir: Path, max_length: int):
    """The saved fast tokenizer, set to truncate to `max_length` tokens and pad each batch to its
    longest text: what `AutoTokenizer(..., truncation=True, max_length=..., padding=True)` does."""
    from tokenizers import Tokenizer

    try:
        tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    except Exception as error:  # the Rust library raises plain Exception for a malformed file
        raise ModelDirError(
            f"{model_dir / 'tokenizer.json'}: not a tokenizer the train stage saved ({_first_line(error)}); "
            "train again or restore the file"
        ) from None
    settings = _read_json(model_dir / "tokenizer_config.json")
    pad_token = settings.get("pad_token") or "[PAD]"
    type_id = settings.get("pad_token_type_id", 0)
    if (
        not isinstance(pad_token, str)
        or isinstance(type_id, bool)
        or not isinstance(type_id, int)
        or type_id < 0
    ):
        raise ModelDirError(
            f"{model_dir / 'tokenizer_config.json'}: pad_token must be a string and pad_token_type_id "
            "a whole number >= 0"
        )
    pad_id = tokenizer.token_to_id(pad_token)
    if pad_id is None:
        raise ModelDirError(
            f"{model_dir / 'tokenizer.json'}: no padding token {pad_token!r} in the vocabulary"
        )
    tokenizer.enable_truncation(max_length=max_length)
    tokenizer.enable_padding(pad_id=pad_id, pad_token=pad_token, pad_type_id=type_id)
    return tokenizer


def _first_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return _shown(lines[0] if lines else type(error).__name__)


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


@dataclass(frozen=True)
class Prediction:
    """What the graph says of one text, and what it saw of it."""

    label: str
    score: float  # the softmax probability of `label`, rounded to 6 decimals
    tokens: int  # tokens fed to the graph: model.max_length at most
    truncated: bool  # model.max_length cut the text: the graph did not see all of it


class Predictor:
    """The tokenizer and one ONNX graph of a model folder, loaded once. `predict` is safe to call
    from one thread at a time (the server holds a lock around it)."""

    def __init__(
        self,
        model_dir: Path,
        max_length: int,
        quantize: str = "none",
        threads: int = 0,
        *,
        graph: str | None = None,
    ) -> None:
        """`quantize` is deploy.serve.quantize (the folder's serving.json decides when it has one);
        `graph` (`none` or `int8`) loads that graph whatever the folder serves: evaluate scores the
        graph not served with it, for the report."""
        # Before the slow imports: a wrong folder fails fast.
        self.labels = check_model_dir(model_dir, quantize, graph)
        quantize = graph or served_quantize(model_dir, quantize)
        import onnxruntime

        self.graph = model_dir / graph_file(quantize)
        self.quantize = quantize
        # The int8 graph quantizes its activations with one scale per call, taken over the whole
        # input (ONNX DynamicQuantizeLinear: y_scale from the tensor's min and max,
        # https://onnx.ai/onnx/operators/onnx__DynamicQuantizeLinear.html), so in a batch a text's
        # scores would depend on the other texts and the padding beside it: up to 0.049 in
        # probability and 2 of 269 labels between batches of 64 and 32 on the sample's model. It
        # runs one text per call instead: a text gets the same answer however it is sent, and
        # the staging check's replay finds exactly the labels evaluate gave (the fp32 graph's
        # scores do not move with the batch: it keeps its batches).
        self.one_text_per_call = quantize == "int8"
        self.max_length = max_length
        self.max_chars = max_length * CHARS_PER_TOKEN
        self.tokenizer = load_tokenizer(model_dir, max_length)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads  # 0: one per physical core
        # Idle worker threads sleep instead of spinning: on shared vCPUs (Serverless, a busy CI
        # machine) a spinning thread waits for a sibling the OS has not scheduled. Measured on 2
        # busy cores: one short text 12 ms spinning vs 4.5 ms not; batch of 32 1.5x the throughput.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = 3  # warnings about unused initializers are noise in a server log
        try:
            self.session = onnxruntime.InferenceSession(
                str(self.graph), options, providers=["CPUExecutionProvider"]
            )
        except Exception as error:  # empty, truncated or foreign bytes: ONNX Runtime's own errors
            raise ModelDirError(
                f"{self.graph}: ONNX Runtime cannot load it ({_first_line(error)}); the file is damaged "
                "or not this project's export: train again (dvc repro) or fetch the model again"
            ) from None
        self._input_names = [graph_input.name for graph_input in self.session.get_inputs()]
        outputs = [output.name for output in self.session.get_outputs()]
        unknown = sorted(set(self._input_names) - set(FEATURES))
        if unknown or "logits" not in outputs:
            raise ModelDirError(
                f"{self.graph}: expects inputs {self._input_names} and gives {outputs}; this project's "
                f"export takes {list(FEATURES)} and gives logits: train again (dvc repro)"
            )

    def describe(self) -> dict[str, str]:
        """Which graph this predictor runs: the file and its SHA-256."""
        return {"file": self.graph.name, "quantize": self.quantize, "sha256": file_digest(self.graph)}

    def logits(self, texts: list[str]) -> np.ndarray:
        """The graph's logits for `texts`, after the shared normalisation (as in training)."""
        return self.logits_of(self.encode(texts))

    def encode(self, texts: list[str]) -> list:
        """The tokenizer's encodings of `texts`, normalised as in training and cut to
        max_length x CHARS_PER_TOKEN characters."""
        return self.encode_cut(texts)[0]

    def encode_cut(self, texts: list[str]) -> tuple[list, list[bool]]:
        """The encodings of `texts` (see `encode`) and, for each, whether the graph misses part of
        it: model.max_length tokens (an encoding's `overflowing`) or the character cut."""
        kept, cut = [], []
        for text in texts:
            text = normalise(text)
            cut.append(len(text) > self.max_chars)
            kept.append(text[: self.max_chars])
        encodings = self.tokenizer.encode_batch(kept)
        return encodings, [c or bool(e.overflowing) for c, e in zip(cut, encodings, strict=True)]

    def logits_of(self, encodings: list) -> np.ndarray:
        """The graph's logits for encodings from `encode` (the int8 graph: one call per text)."""
        if self.one_text_per_call and len(encodings) > 1:
            # Each text alone, without the padding its batch gave it (padding is on the right).
            return np.concatenate([self._run([e], sum(e.attention_mask)) for e in encodings])
        return self._run(encodings)

    def _run(self, encodings: list, length: int | None = None) -> np.ndarray:
        features = {
            "input_ids": np.array([e.ids[:length] for e in encodings], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask[:length] for e in encodings], dtype=np.int64),
            "token_type_ids": np.array([e.type_ids[:length] for e in encodings], dtype=np.int64),
        }
        (logits,) = self.session.run(["logits"], {name: features[name] for name in self._input_names})
        return logits

    def classify(self, texts: list[str]) -> list[Prediction]:
        """Label, probability, tokens seen and whether model.max_length cut it, for each text."""
        encodings, truncated = self.encode_cut(texts)
        probabilities = softmax(self.logits_of(encodings))
        if probabilities.ndim != 2 or probabilities.shape != (len(texts), len(self.labels)):
            raise ModelDirError(
                f"{self.graph}: gives {probabilities.shape[-1] if probabilities.ndim else 0} scores per "
                f"text, labels.json names {len(self.labels)} labels: the folder mixes two models"
            )
        indices = probabilities.argmax(axis=-1)
        return [
            Prediction(self.labels[i], round(float(probabilities[row, i]), 6), sum(e.attention_mask), cut)
            for row, (i, e, cut) in enumerate(zip(indices.tolist(), encodings, truncated, strict=True))
        ]

    def predict(self, texts: list[str]) -> list[tuple[str, float]]:
        """(label, probability) for each text, in order."""
        return [(p.label, p.score) for p in self.classify(texts)]

    def predict_labels(self, texts: list[str], batch_size: int = 32) -> list[str]:
        """The label of each text, `batch_size` texts per graph call."""
        predicted: list[str] = []
        for start in range(0, len(texts), batch_size):
            predicted += [label for label, _ in self.predict(texts[start : start + batch_size])]
        return predicted
