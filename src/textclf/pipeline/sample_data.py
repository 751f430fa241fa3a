"""The bundled sample dataset: customer messages to an online shop, labelled by intent.

The messages are composed from hand-written fragments so a fresh clone gets the same bytes on
every machine without a DVC remote (`data.dvc` pins their md5). The fragments deliberately share
vocabulary across intents ("refund", "order", "account", "charge", "cancel" each appear under
several labels), and a small share of messages mention a second topic, so no single keyword
separates the classes and the evaluation gate has something to judge.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import json
import os
import random
import tempfile
from pathlib import Path

import yaml

SEED = 20261121
ROWS_PER_LABEL = 300

ITEMS = [
    "running shoes",
    "rain jacket",
    "coffee grinder",
    "desk lamp",
    "yoga mat",
    "phone case",
    "blender",
    "backpack",
    "winter boots",
    "wireless earbuds",
    "standing desk",
    "kettle",
    "air purifier",
    "duvet cover",
    "bike helmet",
    "gaming chair",
    "smart watch",
    "frying pan",
]
CARRIERS = ["the courier", "UPS", "DHL", "the postal service", "your delivery partner", "FedEx"]
PLANS = ["Plus membership", "premium plan", "monthly subscription", "annual plan", "meal box subscription"]
DAYS = ["two", "three", "four", "five", "six", "ten"]
MONTHS = ["January", "March", "April", "June", "August", "September", "October", "November"]

OPENERS = [
    "Hi,",
    "Hello,",
    "Hi there,",
    "Good morning,",
    "Hey,",
    "Dear support team,",
    "Hello again,",
    "",
    "",
    "",
    "Quick question:",
    "Sorry to bother you,",
]
CLOSERS = [
    "Thanks.",
    "Thank you!",
    "Thanks in advance.",
    "Please help.",
    "Appreciate it.",
    "Cheers",
    "Let me know asap.",
    "",
    "",
    "",
    "This is really frustrating.",
    "Regards, a long time customer",
]
# Context sentences that fit any intent: they add the shared vocabulary on purpose.
NEUTRAL = [
    "I placed order #{order} on {month} {day}.",
    "My account email is the same one I always use.",
    "I have been a customer for {years} years.",
    "I already tried the chat but nobody answered.",
    "This is the second time I am writing about this.",
    "The order number is {order}.",
    "I bought the {item} last week.",
    "I paid with my credit card.",
    "",
    "",
    "",
]

CORE: dict[str, list[str]] = {
    "billing": [
        "I was charged twice for the same order.",
        "My card shows two payments of ${amount} but I only ordered once.",
        "The invoice says ${amount} but the checkout page said ${amount2}.",
        "Why was I billed ${amount} this month when my plan costs less?",
        "There is a charge on my statement from you that I do not recognise.",
        "Can you send me a proper VAT invoice for my last order?",
        "The discount code was accepted but the total I paid did not change.",
        "I need to update the credit card on my account, the old one expired.",
        "My payment keeps getting declined even though the card works everywhere else.",
        "You charged me the full price for the {item} that was on sale.",
        "I see a pending authorisation of ${amount} that never went away.",
        "Please refund the duplicate charge, I only wanted one {item}.",
        "The shipping fee was added twice on the receipt.",
        "How do I pay with PayPal instead of my card?",
        "I was charged for express delivery but chose standard.",
        "The price on the invoice is in euros but I paid in dollars, which is right?",
        "My bank says the payment went through but your site says unpaid.",
        "Could you split the payment across two cards?",
        "I got a charge of ${amount} after my trial ended, nobody told me it would bill.",
        "The tax on my order looks wrong for my state.",
        "My gift card balance was not applied at checkout.",
        "I need a receipt for the {item} for my company expenses.",
    ],
    "delivery": [
        "Where is my order? It was supposed to arrive {days} days ago.",
        "The tracking number has not updated since {month}.",
        "My package says delivered but there is nothing at my door.",
        "{carrier} left the parcel with a neighbour I do not know.",
        "Can I change the delivery address for order #{order}? I moved.",
        "The {item} still has not shipped, what is the holdup?",
        "How long does shipping take to Canada?",
        "The delivery was scheduled for today and nobody came.",
        "Only half of my order arrived, the {item} is missing from the box.",
        "Can you deliver on the weekend instead? I am at work all week.",
        "The tracking link you emailed me does not work.",
        "{carrier} says the address is incomplete, can you fix it?",
        "My order has been stuck in customs for {days} days.",
        "Is it possible to pick up the order from a locker instead?",
        "I paid for next day delivery and it is now day {days}.",
        "The driver left the {item} in the rain and the box is soaked.",
        "Can you tell me which carrier is bringing my {item}?",
        "I never got a shipping confirmation email for my order.",
        "The estimated delivery date keeps moving later every day.",
        "Please hold the package at the depot, I am away until {month}.",
    ],
    "returns": [
        "I would like to return the {item}, it does not fit.",
        "The {item} arrived broken, how do I send it back?",
        "How do I get a return label for order #{order}?",
        "I returned the {item} {days} weeks ago and still have no refund.",
        "Can I exchange the {item} for a bigger size?",
        "You sent me the wrong colour, I want to swap it.",
        "The {item} stopped working after {days} days, I want a replacement.",
        "Is the return shipping free or do I have to pay for it?",
        "I dropped the parcel at the post office, when will my refund for the return come?",
        "The {item} is not as described on the website, I am sending it back.",
        "What is your return window for sale items?",
        "I received someone else's order, how do I return it to you?",
        "The box was damaged and the {item} inside is scratched, I want to return it.",
        "Can I return a gift without the receipt?",
        "I want to send the {item} back and get store credit instead.",
        "My return was marked as received but the refund is less than I paid.",
        "The {item} smells strongly of chemicals, I would like to return it.",
        "Do I need the original packaging to return the {item}?",
        "The warranty repair form asks for a return number, where do I find it?",
        "The replacement {item} you sent is faulty as well.",
    ],
    "account": [
        "I cannot log in, it says my password is wrong.",
        "The password reset email never arrives.",
        "How do I change the email address on my account?",
        "My account is locked after too many attempts.",
        "I am not getting the two factor code by text message anymore.",
        "Someone else logged into my account and changed my address.",
        "Please delete my account and all my data.",
        "The app logs me out every time I close it.",
        "I created two accounts by mistake, can you merge them?",
        "I signed up with Google and now I cannot set a password.",
        "The verification link says it has expired.",
        "I want to change my username, how do I do that?",
        "My order history disappeared from my account.",
        "How do I turn off the marketing emails?",
        "I lost my phone and cannot pass the login check.",
        "The site says no account exists with my email but I have ordered before.",
        "Can I add my partner as a second user on my account?",
        "I got an email saying my password was changed, I did not do that.",
        "My saved addresses and cards are gone after the update.",
        "The login page just spins and never loads.",
    ],
    "cancellation": [
        "Please cancel my {plan}.",
        "I want to cancel order #{order} before it ships.",
        "How do I stop the automatic renewal of my {plan}?",
        "I no longer need the {item}, can you cancel the order?",
        "Cancel my subscription effective immediately.",
        "I tried to cancel online but the button does nothing.",
        "I want to end my membership, it is too expensive now.",
        "I ordered the {item} by mistake, please cancel it and refund me.",
        "Can I pause my {plan} instead of cancelling it?",
        "I cancelled my {plan} in {month} but you still charged me.",
        "Do I get money back if I cancel the {plan} halfway through?",
        "Please do not send the next box, I want to quit.",
        "I want to cancel the free trial before it turns into a paid plan.",
        "How much notice do I need to give to cancel?",
        "Stop my deliveries, I am cancelling the service.",
        "I want to cancel one item from my order and keep the rest.",
        "Your cancellation form asks for a reason, I just do not use it anymore.",
        "Is there a fee for cancelling the {plan} early?",
        "I have moved abroad so please close my {plan}.",
        "Cancel the pre-order for the {item}, I found it elsewhere.",
    ],
    "product": [
        "Is the {item} available in black?",
        "Will the {item} be back in stock soon?",
        "Does the {item} come with a warranty?",
        "What are the exact dimensions of the {item}?",
        "Is the {item} suitable for someone who is six foot tall?",
        "Does this {item} work with an iPhone?",
        "What material is the {item} made of?",
        "Can the {item} go in the dishwasher?",
        "Is there a newer model of the {item} coming out?",
        "How loud is the {item} when it runs?",
        "Do you sell spare parts for the {item}?",
        "The description of the {item} does not say the weight, can you tell me?",
        "Which size should I order, I am usually between a medium and a large?",
        "Is the {item} waterproof or just water resistant?",
        "Can I order the {item} in bulk for my office?",
        "Does the {item} need batteries?",
        "Are your products tested on animals?",
        "What is the difference between the two versions of the {item}?",
        "Is the {item} safe for kids to use?",
        "How long does the battery of the {item} last on one charge?",
    ],
}
# Messages that honestly fit more than one intent: each is filed under every label listed, the way
# two support agents would file it differently. They cap the reachable accuracy below 100 %.
AMBIGUOUS: list[tuple[str, tuple[str, ...]]] = [
    ("I want my money back for the {item}.", ("returns", "billing", "cancellation")),
    ("Nobody has answered my emails about order #{order}.", ("delivery", "returns", "billing")),
    ("The {item} never came and I was still charged.", ("delivery", "billing")),
    ("I do not want the {item} anymore.", ("cancellation", "returns")),
    ("How do I get a refund?", ("returns", "billing", "cancellation")),
    ("Something is wrong with my order, please call me.", ("delivery", "returns", "billing")),
    ("I cannot see my {plan} anywhere in the app.", ("account", "billing")),
    ("Is the {item} you sent me the newer version?", ("product", "returns")),
    ("My membership page shows an error when I try to change it.", ("account", "cancellation")),
    ("Can I still change my order #{order}?", ("cancellation", "delivery")),
]
AMBIGUOUS_SHARE = 0.1

# Second-topic sentences: a message about one intent that mentions another in passing.
ASIDES = [
    "Also, I might cancel if this keeps happening.",
    "I will need a refund if this cannot be sorted.",
    "By the way I could not log in at first.",
    "The delivery itself was quick at least.",
    "I love the {item} otherwise.",
    "My account shows the order as complete.",
    "I was also charged for shipping.",
]


def _fill(template: str, rng: random.Random) -> str:
    amount = rng.choice([19, 24, 35, 49, 59, 79, 99, 129, 149, 210])
    return template.format(
        item=rng.choice(ITEMS),
        carrier=rng.choice(CARRIERS),
        plan=rng.choice(PLANS),
        days=rng.choice(DAYS),
        month=rng.choice(MONTHS),
        day=rng.randint(1, 28),
        order=rng.randint(100000, 999999),
        amount=f"{amount}.{rng.choice(['00', '99', '50'])}",
        amount2=f"{amount - rng.randint(3, 15)}.00",
        years=rng.randint(2, 9),
    )


def _style(text: str, rng: random.Random) -> str:
    """Vary the writing the way real customers do: lowercase, no punctuation, shouting, typos."""
    roll = rng.random()
    if roll < 0.15:
        text = text.lower()
    elif roll < 0.22:
        text = text.replace(".", "").replace(",", "")
    elif roll < 0.25:
        text = text.upper()
    if rng.random() < 0.1:
        words = text.split(" ")
        i = rng.randrange(len(words))
        if len(words[i]) > 3:
            w = words[i]
            j = rng.randrange(len(w) - 1)
            words[i] = w[:j] + w[j + 1] + w[j] + w[j + 2 :]
        text = " ".join(words)
    return text


def _message(label: str, rng: random.Random) -> str:
    parts = [rng.choice(OPENERS)]
    if rng.random() < 0.5:
        parts.append(_fill(rng.choice(NEUTRAL), rng))
    if rng.random() < AMBIGUOUS_SHARE:
        core = rng.choice([template for template, labels in AMBIGUOUS if label in labels])
    else:
        core = rng.choice(CORE[label])
    parts.append(_fill(core, rng))
    if rng.random() < 0.12:
        parts.append(_fill(rng.choice(ASIDES), rng))
    parts.append(rng.choice(CLOSERS))
    return _style(" ".join(p for p in parts if p), rng)


def generate_rows(rows_per_label: int = ROWS_PER_LABEL, seed: int = SEED) -> list[tuple[str, str]]:
    """Messages and labels, shuffled. The same seed always gives the same rows."""
    rng = random.Random(seed)
    rows = [(_message(label, rng), label) for label in CORE for _ in range(rows_per_label)]
    rng.shuffle(rows)
    return rows


def sample_bytes(rows_per_label: int = ROWS_PER_LABEL, seed: int = SEED) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["text", "label"])
    writer.writerows(generate_rows(rows_per_label, seed))
    return buffer.getvalue().encode("utf-8")


def dvc_dir_md5(files: dict[str, bytes]) -> str:
    """The md5 DVC records for a folder: that of a sorted JSON listing of (md5, relpath)."""
    listing = [
        {"md5": hashlib.md5(data).hexdigest(), "relpath": name} for name, data in sorted(files.items())
    ]
    return hashlib.md5(json.dumps(listing, separators=(", ", ": ")).encode()).hexdigest() + ".dir"


def is_pinned_by(dvc_file: Path) -> bool:
    """True when `dvc_file` (data.dvc) tracks exactly the bundled sample."""
    try:
        record = yaml.safe_load(dvc_file.read_text(encoding="utf-8"))
    except (yaml.YAMLError, ValueError):
        return False  # not the sample's file: `dvc pull` then says what is wrong with it
    outs = record.get("outs") if isinstance(record, dict) else None
    first = outs[0] if isinstance(outs, list) and outs else None
    return isinstance(first, dict) and first.get("md5") == dvc_dir_md5({"messages.csv": sample_bytes()})


class SampleDataError(ValueError):
    """Writing the sample would replace a file that is not the sample (the user's own data)."""


def foreign_files(directory: Path) -> list[Path]:
    """Files below `directory` that writing the sample would replace or that are not the sample:
    a `messages.csv` with other bytes, and every other file (the user's own data)."""
    if not directory.is_dir():
        return []
    sample = sample_bytes()
    found = []
    for path in sorted(directory.rglob("*")):
        if path.is_dir() and not path.is_symlink():
            continue
        if path == directory / "messages.csv" and path.is_file() and not path.is_symlink():
            try:
                if path.read_bytes() == sample:
                    continue
            except OSError:
                pass
        found.append(path)
    return found


def write_sample(
    directory: Path, rows_per_label: int = ROWS_PER_LABEL, seed: int = SEED, force: bool = False
) -> Path:
    """Write `messages.csv` (columns text, label) into `directory`, atomically.

    An existing `messages.csv` with other bytes (the user's own data) is replaced only with
    `force`; otherwise SampleDataError says what would be replaced. Everything is checked before
    a folder is made, and a folder made for a write that fails is removed again.
    """
    _check_reachable(directory)
    target = directory / "messages.csv"
    data = sample_bytes(rows_per_label, seed)
    if target.is_symlink() or target.exists():
        if not target.is_symlink() and target.is_file() and _same_bytes(target, data):
            return target  # already the sample: nothing to replace
        if not force:
            raise SampleDataError(
                f"{target}: exists and is not the bundled sample ({_describe(target)}); it was not "
                "replaced. Keep your data (track it: dvc commit --force data.dvc && dvc push), write the "
                "sample elsewhere with --out, or pass --force to replace this file with the sample"
            )
        if target.is_dir() and not target.is_symlink():
            raise SampleDataError(f"{target}: is a folder; move it away to write the sample there")
    # The folders this call makes, outermost first: removed again if the write fails.
    created = [folder for folder in [*reversed(directory.parents), directory] if not folder.exists()]
    partial = None
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=directory, prefix=".messages.csv.", delete=False) as handle:
            partial = Path(handle.name)
            handle.write(data)
        partial.chmod(0o644)
        partial.replace(target)
    except OSError:
        if partial is not None:
            partial.unlink(missing_ok=True)
        for folder in reversed(created):  # deepest first
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise
    return target


def _check_reachable(directory: Path) -> None:
    """A `..` after a folder that is not there (`d3/../mydir`) leads nowhere: the system resolves
    `d3/..` only once d3 exists, so making the folders would first create d3, an empty folder the
    user never asked for. Refused before anything is made."""
    for index, part in enumerate(directory.parts):
        before = Path(*directory.parts[:index]) if index else Path(".")
        if part == ".." and not before.is_dir():
            raise SampleDataError(
                f"{directory}: {before} is not a folder, so {before / '..'} leads nowhere; nothing was "
                "written. Name the folder without '..' (--out data/raw, or another folder)"
            )


def _same_bytes(path: Path, data: bytes) -> bool:
    try:
        return path.stat().st_size == len(data) and path.read_bytes() == data
    except OSError:
        return False


def _describe(path: Path) -> str:
    if path.is_symlink():
        return f"a symbolic link to {os.readlink(path)}"
    if path.is_dir():
        return "a folder"
    try:
        return f"{path.stat().st_size:,} bytes"
    except OSError as error:
        return f"cannot be read: {error.strerror}"
