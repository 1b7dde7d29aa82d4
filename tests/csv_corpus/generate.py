#!/usr/bin/env python3
"""Generates Swan's messy CSV / JSON import corpus.

    python3 tests/csv_corpus/generate.py OUTDIR

Writes several hundred data files into OUTDIR, each with its expected clean table, and
OUTDIR/index.json describing every case (see README.md next to this file). Python 3.11 standard
library only; deterministic: the same bytes on every run (fixed seeds, gzip mtime 0, no sets
iterated, no clock).
"""

import gzip
import json
import os
import random
import re
import sys
import unicodedata

SEED = 20240305

# --------------------------------------------------------------------------------------------
# Swan's column renaming rule (Keboola's)

_EXTRA_FOLD = {"ł": "l", "Ł": "L"}


def fold_ascii(text):
    text = "".join(_EXTRA_FOLD.get(c, c) for c in text)
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def _base_name(label, position):
    name = re.sub(r"[^A-Za-z0-9_]+", "_", fold_ascii(label)).strip("_")
    return name if name else "column_%d" % position


def _rename(labels, truncate_first):
    out, seen = [], []
    for i, label in enumerate(labels):
        name = _base_name(label, i + 1)
        if truncate_first:
            name = name[:64]
        if name.lower() in seen:
            k = 2
            while ("%s_%d" % (name, k)).lower() in seen:
                k += 1
            name = "%s_%d" % (name, k)
        name = name[:64]
        seen.append(name.lower())
        out.append(name)
    return out


def rename_columns(labels):
    """Swan's names for header texts. Asserts the corpus never depends on whether truncation to
    64 characters happens before or after the duplicate suffix (the rule leaves that open)."""
    a = _rename(labels, truncate_first=False)
    b = _rename(labels, truncate_first=True)
    if a != b:
        raise AssertionError("renaming depends on truncation order: %r" % (labels,))
    return a


# --------------------------------------------------------------------------------------------
# Value pools. Every text value is something DuckDB keeps as VARCHAR (never all digits, never a
# date/number/boolean look-alike, never NA/null), with no leading or trailing spaces.

PRODUCTS = ["Widget", "Gadget Pro", "Blue Mug", "Desk Lamp", "USB Cable", "Office Chair",
            "Notebook A5", "Pen Set", "Coffee Beans", "Green Tea", "Water Bottle", "Backpack",
            "Wireless Mouse", "Keyboard", "Monitor Stand", "Phone Case", "Headphones",
            "Sticky Notes", "Stapler", "Paper Clips", "Desk Organizer", "Label Printer"]
CITIES = ["Prague", "Brno", "Ostrava", "Berlin", "Vienna", "Paris", "London", "New York",
          "Chicago", "Madrid", "Warsaw", "Oslo", "Dublin", "Lisbon", "Rome", "Boston", "Denver",
          "Austin", "Seattle", "Toronto", "Hamburg", "Lyon"]
PEOPLE = ["Anna Novak", "John Smith", "Maria Garcia", "Peter Brown", "Eva Svobodova", "Tom Lee",
          "Lucy Chen", "Mark Davis", "Jana Kralova", "Paul Miller", "Sara Olsen", "Ivan Petrov"]
STATUS = ["shipped", "pending", "cancelled", "delivered", "returned", "on hold", "backordered"]
NOTES = ["Delivered on time", "Customer asked for refund", "Gift wrap", "Call before delivery",
         "Leave at the door", "Fragile item", "Second attempt", "Priority order",
         "Damaged box", "Wrong size sent", "Paid by card", "Pick up in store"]
COLORS = ["red", "green", "blue", "black", "white", "silver", "orange", "purple"]

UTF8_TEXT = ["Zürich", "Kraków", "São Paulo", "Málaga", "Plzeň", "Český Krumlov", "Łódź",
             "東京", "Ελλάδα", "Москва", "naïve café", "smile 😀", "Ærø", "Straße", "Øresund",
             "İstanbul", "Reykjavík", "Dvořák", "Ñandú", "Curaçao"]
LATIN1_TEXT = ["Zürich", "Málaga", "São Paulo", "Café crème", "Øresund", "Ærø", "Straße",
               "Reykjavík", "Curaçao", "Ñandú", "Bräunlich", "Crème brûlée", "Gewürz",
               "Señor López", "Été à Nîmes", "Fjørd"]
CP1250_TEXT = ["Příliš žluťoučký kůň úpěl ďábelské ódy", "Plzeň", "České Budějovice", "Łódź",
               "Kraków", "Žilina", "Košice", "Győr", "Ústí nad Labem", "Hradec Králové",
               "Dvořák", "Śląsk", "Brněnská 12", "Pečivo a mléko", "Čaj s citrónem",
               "Žádný problém"]
CP1252_TEXT = ["€ 25 off", "“Quoted” text", "‘single’ quotes", "Price – discount",
               "Œuvre complète", "naïve café", "Fête… again", "Brand™ item", "Crème brûlée",
               "Zürich", "Señor López", "Bär & Söhne", "Cost — net", "Š and ž too"]

SPECIAL_DELIM = ["Smith, John", "Red, Green and Blue", "Paris, France", "one, two, three",
                 "Box, large"]
SPECIAL_QUOTE = ['He said "hi"', '5" screen', '"Best" seller', 'The "big" one',
                 'a "quoted" word']
SPECIAL_NEWLINE = ["Line one\nLine two", "Address:\nMain Street 5", "first\nsecond\nthird",
                   "Note with\nbreak"]

INT_LABELS = ["ID", "Quantity", "Qty", "Order Number", "Year", "Units Sold", "Stock", "Rank",
              "Customer ID", "Store No.", "Age", "Pages", "Visits", "Clicks", "Count",
              "Line Items", "Floor", "Seats"]
DEC_LABELS = ["Price", "Unit Price", "Amount", "Discount %", "Weight (kg)", "Rating",
              "Tax Rate", "Total (USD)", "Score", "Temperature °C", "Margin", "Height m",
              "Distance km", "Balance"]
DATE_LABELS = ["Order Date", "Created", "Ship Date", "Birthday", "Due Date", "Start",
               "End Date", "Invoice date", "Valid From"]
BOOL_LABELS = ["Active", "Is Paid", "In Stock", "Verified", "Gift", "Returned?", "Enabled"]
TS_LABELS = ["Updated At", "Created At", "Timestamp", "Last Login", "Scanned At"]
TEXT_LABELS = [("Product Name", "product"), ("Product", "product"), ("City", "city"),
               ("Customer", "person"), ("Contact Person", "person"), ("Status", "status"),
               ("Note", "note"), ("Comment", "note"), ("SKU", "sku"), ("Email", "email"),
               ("Warehouse", "city"), ("Item", "product"), ("Color", "color"),
               ("Sales Rep", "person"), ("Destination", "city"), ("Remarks", "note")]
MIXED_LABELS = ["Code", "Ref", "Zone", "Shelf"]

TYPE_WEIGHTS = [("int", 3), ("dec", 2), ("text", 4), ("date", 1), ("bool", 1), ("ts", 0.3),
                ("mixed", 0.3)]


class Col:
    """One column: its type, pool and null probability."""

    def __init__(self, ctype, label, pool=None, null_p=0.0, seq=False):
        self.ctype, self.label, self.pool, self.null_p, self.seq = ctype, label, pool, null_p, seq


class Ctx:
    """What values may contain in a file."""

    def __init__(self, delim=",", quote='"', charset="ascii", special=0.0, newline_ok=True,
                 forbid=""):
        self.delim, self.quote, self.charset = delim, quote, charset
        self.special, self.newline_ok, self.forbid = special, newline_ok, forbid


def weighted(rng, pairs):
    total = sum(w for _, w in pairs)
    x = rng.random() * total
    for item, w in pairs:
        x -= w
        if x < 0:
            return item
    return pairs[-1][0]


def gen_dec(rng):
    whole = rng.choice([0, rng.randint(1, 99), rng.randint(100, 9999)])
    if rng.random() < 0.5:
        frac = str(rng.randint(1, 9))
    else:
        frac = "%02d" % rng.randint(1, 99)
        if frac.endswith("0"):
            frac = frac[0]
    sign = "-" if rng.random() < 0.1 else ""
    return "%s%d.%s" % (sign, whole, frac)


def gen_date(rng):
    return "%04d-%02d-%02d" % (rng.randint(2000, 2030), rng.randint(1, 12), rng.randint(1, 28))


def gen_ts(rng):
    return "%s %02d:%02d:%02d" % (gen_date(rng), rng.randint(0, 23), rng.randint(0, 59),
                                  rng.randint(0, 59))


def gen_text(rng, pool, ctx):
    if ctx.charset != "ascii" and rng.random() < 0.5:
        src = {"utf8": UTF8_TEXT, "latin1": LATIN1_TEXT, "cp1250": CP1250_TEXT,
               "cp1252": CP1252_TEXT}[ctx.charset]
        return rng.choice(src)
    if pool == "product":
        return rng.choice(PRODUCTS)
    if pool == "city":
        return rng.choice(CITIES)
    if pool == "person":
        return rng.choice(PEOPLE)
    if pool == "status":
        return rng.choice(STATUS)
    if pool == "note":
        return rng.choice(NOTES)
    if pool == "color":
        return rng.choice(COLORS)
    if pool == "sku":
        return "SKU-%d" % rng.randint(1000, 9999)
    if pool == "email":
        return rng.choice(PEOPLE).lower().replace(" ", ".") + "@example.com"
    return rng.choice(PRODUCTS)


def sanitize(value, ctx):
    """Removes what a file's dialect cannot carry unquoted when quoting is off for it."""
    for ch in ctx.forbid:
        value = value.replace(ch, "-" if ch == " " else "")
    return value.strip() or "x"


def gen_value(rng, col, ctx, row_index):
    if col.seq:
        return str(row_index + 1)
    if col.null_p and rng.random() < col.null_p:
        return None
    t = col.ctype
    if t == "int":
        v = str(rng.choice([rng.randint(2, 99), rng.randint(100, 99999), -rng.randint(2, 500)]))
    elif t == "dec":
        v = gen_dec(rng)
    elif t == "date":
        v = gen_date(rng)
    elif t == "ts":
        v = gen_ts(rng)
    elif t == "bool":
        v = rng.choice(["true", "false"])
    elif t == "mixed":
        v = rng.choice(["A%d" % rng.randint(1, 99), str(rng.randint(2, 999)),
                        "B-%d" % rng.randint(1, 9), "Z%d" % rng.randint(10, 99)])
    else:
        v = None
        if ctx.special and ctx.quote and rng.random() < ctx.special:
            choices = SPECIAL_DELIM + SPECIAL_QUOTE
            if ctx.newline_ok:
                choices = choices + SPECIAL_NEWLINE
            v = rng.choice(choices)
            if ctx.delim != ",":
                v = v.replace(",", ctx.delim if len(ctx.delim) == 1 else " and")
        if v is None:
            v = gen_text(rng, col.pool, ctx)
        v = sanitize(v, ctx)
    return v


def pick_columns(rng, ncols, types=None, first_id=None, nulls=True, label_style=None):
    """Chooses ncols columns with labels unique after renaming."""
    if first_id is None:
        first_id = rng.random() < 0.5
    cols, used = [], []
    pools = {"int": list(INT_LABELS), "dec": list(DEC_LABELS), "date": list(DATE_LABELS),
             "bool": list(BOOL_LABELS), "ts": list(TS_LABELS), "text": list(TEXT_LABELS),
             "mixed": list(MIXED_LABELS)}
    for lst in pools.values():
        rng.shuffle(lst)
    for i in range(ncols):
        if types is not None:
            t = types[i]
        elif i == 0 and first_id:
            t = "int"
        else:
            t = weighted(rng, TYPE_WEIGHTS)
        if i == 0 and first_id and types is None:
            label, pool = "ID", None
        elif t == "text":
            label, pool = pools["text"][i % len(pools["text"])]
        else:
            label, pool = pools[t][i % len(pools[t])], None
        if label_style:
            label = label_style(label)
        base, k = label, 2
        while _base_name(label, i + 1).lower() in used:
            label = "%s %d" % (base, k)
            k += 1
        used.append(_base_name(label, i + 1).lower())
        null_p = rng.choice([0, 0, 0, 0.05, 0.1, 0.2]) if nulls and ncols > 1 else 0.0
        cols.append(Col(t, label, pool, null_p, seq=(i == 0 and first_id and types is None)))
    if ncols == 1:
        cols[0].null_p = 0.0
    return cols


def gen_rows(rng, cols, nrows, ctx):
    rows = []
    for r in range(nrows):
        while True:
            row = [gen_value(rng, c, ctx, r) for c in cols]
            if any(v is not None for v in row):
                break
        rows.append(row)
    # An integer column must not be all 0/1 and a mixed column needs a non-numeric value.
    for ci, c in enumerate(cols):
        vals = [row[ci] for row in rows if row[ci] is not None]
        if c.ctype == "mixed" and vals and all(re.fullmatch(r"-?\d+", v) for v in vals):
            for row in rows:
                if row[ci] is not None:
                    row[ci] = "Q" + row[ci]
                    break
    return rows


# --------------------------------------------------------------------------------------------
# CSV rendering


class Dialect:
    def __init__(self, delim=",", quote='"', escape=None, quote_all=False):
        self.delim, self.quote, self.escape, self.quote_all = delim, quote, escape, quote_all


def render_field(value, dia, force=False):
    if value is None:
        return ""
    need = ("\n" in value or "\r" in value or dia.delim in value
            or (dia.quote and dia.quote in value))
    if len(dia.delim) > 1 and (value.startswith(" ") or value.endswith(dia.delim[0])):
        need = True
    if dia.quote and (need or dia.quote_all or force):
        esc = dia.escape or dia.quote
        inner = value
        if esc != dia.quote:
            if esc in inner:
                raise ValueError("value holds the escape character: %r" % value)
            inner = inner.replace(dia.quote, esc + dia.quote)
        else:
            inner = inner.replace(dia.quote, dia.quote + dia.quote)
        return dia.quote + inner + dia.quote
    if need:
        raise ValueError("value %r needs quoting in a file without quoting" % value)
    return value


def render_row(values, dia):
    return dia.delim.join(render_field(v, dia) for v in values)


def join_lines(lines, eol="\n", final=True):
    if isinstance(eol, list):  # one line ending per line (mixed endings)
        out = []
        for i, line in enumerate(lines):
            out.append(line)
            if i < len(lines) - 1 or final:
                out.append(eol[i])
        return "".join(out)
    text = eol.join(lines)
    return text + eol if final else text


# --------------------------------------------------------------------------------------------
# The corpus


class Corpus:
    def __init__(self, outdir):
        self.outdir = outdir
        self.cases = []
        self.names = []
        self.counters = {}

    def next_name(self, prefix):
        n = self.counters.get(prefix, 0) + 1
        self.counters[prefix] = n
        return "%s_%03d" % (prefix, n)

    def add(self, *, prefix, ext, kind, category, data, columns, labels, rows, options=None,
            bad_rows=0, exception=None, expect_reject=False, note=None, compress=False):
        name = self.next_name(prefix)
        assert name not in self.names
        self.names.append(name)
        if isinstance(data, str):
            data = data.encode("utf-8")
        if compress:
            data = gzip.compress(data, compresslevel=6, mtime=0)
        fname = name + ext
        with open(os.path.join(self.outdir, fname), "wb") as f:
            f.write(data)
        case = {"name": name, "file": fname, "kind": kind, "category": category,
                "columns": columns, "labels": labels, "rows": rows, "options": options or {},
                "bad_rows": bad_rows, "exception": exception, "expect_reject": expect_reject}
        if note:
            case["note"] = note
        for row in rows:
            assert len(row) == len(columns), (name, row, columns)
        self.cases.append(case)
        return case

    def add_csv(self, *, prefix, category, labels, rows, text, ext=".csv", options=None,
                header=True, encoding="utf-8", bom=False, columns=None, **kw):
        if header:
            cols = columns if columns is not None else rename_columns(labels)
        else:
            n = len(labels)
            labels = ["column%d" % i for i in range(n)]
            cols = ["column_%d" % (i + 1) for i in range(n)]
        if encoding == "utf-8":
            data = (("\ufeff" if bom else "") + text).encode("utf-8")
        elif encoding == "utf-16-le":
            data = b"\xff\xfe" + text.encode("utf-16-le")
        elif encoding == "utf-16-be":
            data = b"\xfe\xff" + text.encode("utf-16-be")
        else:
            data = text.encode(encoding)  # strict: the corpus only holds encodable text
        return self.add(prefix=prefix, ext=ext, kind="csv", category=category, data=data,
                        columns=cols, labels=list(labels), rows=rows, options=options, **kw)

    def write_index(self):
        path = os.path.join(self.outdir, "index.json")
        with open(path, "w", encoding="utf-8", newline="\n") as f:
            f.write('{"seed": %d, "count": %d, "cases": [\n' % (SEED, len(self.cases)))
            f.write(",\n".join(json.dumps(c, ensure_ascii=False, sort_keys=False)
                               for c in self.cases))
            f.write("\n]}\n")


def simple_table(rng, *, ncols=None, nrows=None, ctx=None, types=None,
                 first_id=None, nulls=True, label_style=None):
    ctx = ctx or Ctx()
    if ncols is None:
        ncols = rng.choice([1, 2, 3, 3, 4, 5, 5, 6, 7, 8, 10, 12, 15, 20, 25, 30])
    if nrows is None:
        nrows = rng.choice([5, 8, 10, 12, 20, 25, 40, 60, 100, 150, 200])
    cols = pick_columns(rng, ncols, types=types, first_id=first_id, nulls=nulls,
                        label_style=label_style)
    rows = gen_rows(rng, cols, nrows, ctx)
    return cols, rows


def no_space_label(label):
    return label.replace(" ", "_")


# ---- 1. plain comma ------------------------------------------------------------------------

def gen_plain(c, rng):
    eols = ["\n", "\r\n", "\r"]
    for i in range(34):
        eol = eols[i % 3]
        final = (i // 3) % 2 == 0
        bom = i % 4 == 3
        ctx = Ctx(charset="utf8" if i % 5 == 4 else "ascii", special=0.1 if i % 3 == 1 else 0.0,
                  newline_ok=False)
        cols, rows = simple_table(rng, ctx=ctx)
        dia = Dialect(quote_all=(i % 7 == 6))
        lines = [render_row([col.label for col in cols], dia)] + [render_row(r, dia)
                                                                    for r in rows]
        ext = ".txt" if i % 11 == 10 else ".csv"
        what = {"\n": "LF", "\r\n": "CRLF", "\r": "CR"}[eol]
        note = "%s line endings, %s final newline%s" % (what, "with" if final else "without",
                                                       ", UTF-8 BOM" if bom else "")
        c.add_csv(prefix="plain", category="plain", labels=[col.label for col in cols],
                  rows=rows, text=join_lines(lines, eol, final), ext=ext, bom=bom, note=note)


# ---- 2. delimiters -------------------------------------------------------------------------

def gen_delimiter(c, rng):
    delims = [";", "\t", "|", " ", ", ", "; "]
    for i in range(36):
        d = delims[i % len(delims)]
        style, nulls = None, True
        if d == " ":
            quoting = i % 12 == 3  # half of the space files quote values holding spaces
            ctx = Ctx(delim=d, forbid="" if quoting else ' "', special=0.0)
            style = no_space_label
            nulls = False  # an empty field would be two spaces in a row or a trailing space
        elif len(d) > 1:
            ctx = Ctx(delim=d, forbid=',;"', special=0.0)
        else:
            ctx = Ctx(delim=d, special=0.15 if i % 2 else 0.0, newline_ok=False)
        cols, rows = simple_table(rng, ctx=ctx, label_style=style, nulls=nulls)
        dia = Dialect(delim=d)
        labels = [col.label for col in cols]
        lines = [render_row(labels, dia)] + [render_row(r, dia) for r in rows]
        eol = "\r\n" if i % 4 == 1 else "\n"
        if d == "\t":
            ext = [".tsv", ".csv", ".txt"][(i // 6) % 3]
        else:
            ext = ".txt" if i % 5 == 4 else ".csv"
        c.add_csv(prefix="delimiter", category="delimiter", labels=labels, rows=rows,
                  text=join_lines(lines, eol, True), ext=ext, options={"delimiter": d})


# ---- 3. quotes -----------------------------------------------------------------------------

def gen_quotes(c, rng):
    for i in range(34):
        kind = ["double", "double", "double", "single", "none", "backslash"][i % 6]
        if kind == "double":
            eol = "\r\n" if i % 4 == 0 else "\n"
            ctx = Ctx(special=0.35, newline_ok=True)
            dia = Dialect(quote_all=(i % 5 == 0))
            options = {}
            note = "double-quoted values holding delimiters, doubled quotes and line breaks"
        elif kind == "single":
            eol = "\n"
            ctx = Ctx(quote="'", special=0.3, newline_ok=(i % 2 == 0))
            dia = Dialect(quote="'")
            options = {"enclosure": "'"}
            note = "single-quote enclosure; double quotes are plain characters"
        elif kind == "none":
            eol = "\n"
            ctx = Ctx(quote="", forbid=",\n", special=0.0)
            dia = Dialect(quote="")
            options = {"enclosure": ""}
            note = "no quoting: quote characters inside values are literal"
        else:
            eol = "\n"
            ctx = Ctx(special=0.35, newline_ok=True)
            dia = Dialect(escape="\\")
            options = {"escape": "\\"}
            note = 'backslash escape: \\" inside "..."'
        ncols = rng.randint(2, 12)
        cols, rows = simple_table(rng, ncols=ncols, ctx=ctx)
        if kind == "none":
            # Put literal quote characters into text values.
            for row in rows:
                for ci, col in enumerate(cols):
                    if col.ctype == "text" and row[ci] is not None and rng.random() < 0.3:
                        row[ci] = rng.choice(['5" screen', 'The "Best" one', "Rock 'n' roll",
                                              '"Quoted" start', "12' ladder", 'He said "hi'])
            if not any(col.ctype == "text" for col in cols):
                cols.append(Col("text", "Description", "product"))
                for row in rows:
                    row.append(rng.choice(['5" screen', "O'Brien", 'Size "XL"', "Widget"]))
        if kind == "single":
            for row in rows:
                for ci, col in enumerate(cols):
                    if col.ctype == "text" and row[ci] is not None and rng.random() < 0.15:
                        row[ci] = rng.choice(["O'Brien", "Rock 'n' roll", "It's fine"])
        labels = [col.label for col in cols]
        lines = [render_row(labels, dia)] + [render_row(r, dia) for r in rows]
        c.add_csv(prefix="quotes", category="quotes", labels=labels, rows=rows,
                  text=join_lines(lines, eol, i % 3 != 2), options=options, note=note)


# ---- 4. headerless -------------------------------------------------------------------------

def gen_headerless(c, rng):
    typed = ["int", "dec", "date", "bool", "ts"]
    for i in range(22):
        ncols = rng.randint(1, 10)  # at most 10: DuckDB zero-pads column names from 11 on
        types = [rng.choice(typed) for _ in range(ncols)]
        if i % 4 == 1 and ncols > 1:
            types[-1] = "text"
        cols = pick_columns(rng, ncols, types=types, nulls=(i % 3 == 0))
        d = [",", ",", ";", "\t"][i % 4]
        ctx = Ctx(delim=d)
        rows = gen_rows(rng, cols, rng.choice([5, 10, 20, 50, 120]), ctx)
        dia = Dialect(delim=d)
        lines = [render_row(r, dia) for r in rows]
        options = {"header": "false"}
        if d != ",":
            options["delimiter"] = d
        c.add_csv(prefix="headerless", category="headerless", labels=[x.label for x in cols],
                  rows=rows, text=join_lines(lines, "\r\n" if i % 5 == 2 else "\n", i % 6 != 5),
                  header=False, options=options)


# ---- 5. preamble / comments ----------------------------------------------------------------

PREAMBLE = ["Sales report Q1 2024", "Exported on 2024-03-05 10:00 by admin", "Company: ACME Inc.",
            "Confidential", "Source: ERP system", "Generated automatically - do not edit",
            "Report: monthly stock levels", "Warehouse overview"]
COMMENTS = ["# Generated by ERP export v2.3", "# Do not edit by hand", "# columns: id name price",
            "# exported 2024-03-05", "#", "## totals follow"]


def gen_preamble(c, rng):
    for i in range(24):
        d = ";" if i % 5 == 3 else ","
        ctx = Ctx(delim=d, forbid="#")
        cols, rows = simple_table(rng, ncols=rng.randint(2, 12), ctx=ctx)
        labels = [col.label.replace("#", "No") for col in cols]
        dia = Dialect(delim=d)
        body = [render_row(labels, dia)] + [render_row(r, dia) for r in rows]
        options = {} if d == "," else {"delimiter": d}
        note = None
        if i < 14:
            n = rng.randint(1, 5)
            pre = []
            for k in range(n):
                pre.append("" if (k > 0 and rng.random() < 0.3) else rng.choice(PREAMBLE))
            if i % 4 == 2 and n < 5:
                pre.append("")
                n += 1
            options["skip_lines"] = str(n)
            lines = pre + body
            note = "skip_lines counts every physical line above the header, blank ones too"
        else:
            n = rng.randint(1, 4)
            pre = [rng.choice(COMMENTS) for _ in range(n)]
            lines = pre + body
            if i % 2 == 0:
                options["comment"] = "#"
                if i % 4 == 0:  # a comment line between data rows too
                    pos = rng.randint(n + 2, len(lines) - 1)
                    lines.insert(pos, "# subtotal line removed")
                    note = "a comment line also sits between data rows"
            else:
                options["skip_lines"] = str(n)
        c.add_csv(prefix="preamble", category="preamble", labels=labels, rows=rows,
                  text=join_lines(lines, "\r\n" if i % 3 == 0 else "\n", True), options=options,
                  note=note)


# ---- 6. multi-row headers ------------------------------------------------------------------

def combine_header_rows(header_rows):
    """The label each column gets from several header rows (merged cells fill to the right)."""
    ncols = len(header_rows[-1])
    filled = []
    for r, row in enumerate(header_rows):
        if r < len(header_rows) - 1:
            cur, out = "", []
            for cell in row:
                if cell.strip():
                    cur = cell
                out.append(cur)
            filled.append(out)
        else:
            filled.append(list(row))
    labels = []
    for ci in range(ncols):
        parts = [filled[r][ci].strip() for r in range(len(header_rows)) if filled[r][ci].strip()]
        labels.append(" ".join(parts))
    return labels


def gen_multiheader(c, rng):
    years = ["2022", "2023", "2024", "2025"]
    metrics = [["Q1", "Q2", "Q3", "Q4"], ["Units", "Revenue"], ["Jan", "Feb", "Mar"],
               ["Plan", "Actual", "Diff"], ["Min", "Max"]]
    for i in range(18):
        three = i >= 15
        upper, lower, types = [], [], []
        # leading label columns
        lead = i % 3
        if lead == 0:
            upper += ["ID"]; lower += [""]; types += ["seq"]
        elif lead == 1:
            upper += [""]; lower += ["ID"]; types += ["seq"]
            if i % 2:
                upper += [""]; lower += ["Region"]; types += ["text"]
        else:
            upper += ["Location", ""]; lower += ["Country", "City"]; types += ["text", "text"]
        top = [""] * len(upper)
        ngroups = rng.randint(1, 4)
        ms = rng.choice(metrics)
        for g in range(ngroups):
            if three:
                for k, sub in enumerate(["Sales", "Costs"]):
                    top += [years[g] if k == 0 else ""] + [""] * (len(ms) - 1)
                    upper += [sub] + [""] * (len(ms) - 1)
                    lower += ms
                    types += [rng.choice(["int", "dec"])] * len(ms)
            else:
                name = rng.choice(["Sales", "Revenue", "Orders", "Stock", "Returns"])
                upper += ["%s %s" % (name, years[g])] + [""] * (len(ms) - 1)
                lower += ms
                types += [rng.choice(["int", "dec"])] * len(ms)
        hrows = [top, upper, lower] if three else [upper, lower]
        labels = combine_header_rows(hrows)
        cols = []
        for t, lab in zip(types, labels):
            if t == "seq":
                cols.append(Col("int", lab, seq=True))
            elif t == "text":
                cols.append(Col("text", lab, "city"))
            else:
                cols.append(Col(t, lab, null_p=0.05 if i % 4 == 0 else 0.0))
        d = ";" if i % 6 == 5 else ","
        rows = gen_rows(rng, cols, rng.choice([5, 8, 12, 30]), Ctx(delim=d))
        dia = Dialect(delim=d)
        lines = [render_row(h, dia) for h in hrows] + [render_row(r, dia) for r in rows]
        options = {"header_rows": "3" if three else "2"}
        if d != ",":
            options["delimiter"] = d
        c.add_csv(prefix="multiheader", category="multiheader", labels=labels, rows=rows,
                  text=join_lines(lines, "\n", True), options=options,
                  note="labels are the joined header-row texts (before renaming)")


# ---- 7. header renaming --------------------------------------------------------------------

RN_PUNCT = ["Product Name", "Unit Price ($)", "E-mail", "% Change", "Qty.", "Order #",
            "Weight [kg]", "Price/Unit", "Ship-To Address", "Date (UTC)", "First & Last",
            "a.b.c", "Net Amount (EUR)", "__private__", "--dash--", "tab\there"]
RN_ACCENT = ["Název", "Počet kusů", "Cena za kus", "Město", "Účet", "Řada", "Šířka", "Délka",
             "Café", "Año", "Niño", "Żółć", "Łódź miasto", "Ďábel", "Kůň", "Année",
             "Prénom", "Façade", "Médico", "Ťava", "Ěšč Řžý"]
RN_DIGITS = ["2024 Sales", "1st Quarter", "3D Model", "123", "90 Day Return", "2nd Choice"]
RN_SYMBOL = ["???", "#", "%", "()", "€", "-", "..."]
RN_LONG = [
    "This is a very long column name that goes on and on describing the measurement in detail",
    "Another extremely long header text exported from a spreadsheet with a full sentence in it",
    "Quantity of items shipped to the customer during the fiscal year including returns and",
    "Zkratka pro velmi dlouhý název sloupce který přesahuje šedesát čtyři znaků v exportu dat",
]
RN_SPACES = [" Price ", "  City", "Status  ", " Note"]


def gen_renaming(c, rng):
    specials = [
        (["Name", "name", "NAME", "Value"], "case-insensitive duplicates"),
        (["Price", "Price", "Price", "Qty"], "exact duplicates"),
        (["Unit Price", "Unit-Price", "unit_price", "Unit  Price"], "duplicates after renaming"),
        (["a", "a", "a_2", "b"], "a later label equal to an earlier generated suffix name: "
                                 "by the rule a, a_2, a_2_2"),
        (["", "", "ID", ""], "empty header cells"),
        (["ID", "", "Total", "Total"], "empty cell and a duplicate"),
        (['Size "XL"', "Weird, name", "x;y", "Name"], "quoted header cells"),
    ]
    for i in range(28):
        if i < len(specials):
            labels, note = list(specials[i][0]), "renaming: " + specials[i][1]
        else:
            pool = []
            for src, k in [(RN_PUNCT, 3), (RN_ACCENT, 3), (RN_DIGITS, 1), (RN_SYMBOL, 1),
                           (RN_LONG, 1 if i % 3 == 0 else 0), (RN_SPACES, 1)]:
                pool += rng.sample(src, k)
            rng.shuffle(pool)
            labels = pool[:rng.randint(4, len(pool))]
            if i % 4 == 0:
                short = [x for x in labels if x.strip() and len(x) < 40]
                labels.append(short[0].upper() if short else "Dup")
            if i % 5 == 0:
                labels.insert(rng.randint(0, len(labels)), "")
            note = "renaming: punctuation, accents, digits, symbols, long names"
        # Symbol-only labels become column_<position>; never let that collide with a real label.
        names = rename_columns(labels)
        types = [rng.choice(["int", "dec", "text", "date", "bool"]) for _ in labels]
        cols = [Col(t, lab, "product", null_p=0.05) for t, lab in zip(types, labels)]
        ctx = Ctx()
        rows = gen_rows(rng, cols, rng.choice([5, 10, 20]), ctx)
        dia = Dialect()
        lines = [render_row(labels, dia)] + [render_row(r, dia) for r in rows]
        c.add_csv(prefix="renaming", category="renaming", labels=labels, rows=rows,
                  text=join_lines(lines, "\n", True), columns=names, note=note)


# ---- 8. encodings --------------------------------------------------------------------------

ENC_LABELS = {
    "latin1": ["Année", "Prénom", "Quantité", "Ville", "Município", "Número", "Descripción",
               "Año", "Città", "Stück", "Prix (excl.)", "Menge"],
    "cp1250": ["Název", "Množství", "Cena za kus", "Datum dodání", "Poznámka", "Město", "Účet",
               "Řada", "Šířka", "Délka", "Hmotnost (kg)", "Łódź"],
    "cp1252": ["Année", "Prénom", "Preis (€)", "Menge", "Strasse Nr", "Descripción", "Niño",
               "Façade", "Ville", "Stück"],
    "utf8": ["Název", "Prénom", "Año", "Żółć", "Łąka", "Ville", "Stück", "Cena"],
}


def gen_encoding(c, rng):
    plan = (["latin-1"] * 6 + ["windows-1250"] * 7 + ["windows-1252"] * 6 + ["utf-16le"] * 3
            + ["utf-16be"] * 2 + ["utf-8"] * 2)
    for i, enc in enumerate(plan):
        charset, pyenc = {"latin-1": ("latin1", "latin-1"), "windows-1250": ("cp1250", "cp1250"),
                          "windows-1252": ("cp1252", "cp1252"), "utf-16le": ("utf8", "utf-16-le"),
                          "utf-16be": ("utf8", "utf-16-be"), "utf-8": ("utf8", "utf-8")}[enc]
        d = ";" if i % 3 == 0 else ","
        ctx = Ctx(delim=d, charset=charset, special=0.0)
        ncols = rng.randint(2, 10)
        cols = pick_columns(rng, ncols, first_id=True)
        # accented labels from the file's character set for some columns
        lab_pool = list(ENC_LABELS["utf8" if charset == "utf8" else charset])
        rng.shuffle(lab_pool)
        for k, col in enumerate(cols[1:]):
            if k < len(lab_pool) and rng.random() < 0.6:
                col.label = lab_pool[k]
        # make sure text columns exist, they carry the encoded characters
        if not any(col.ctype == "text" for col in cols):
            cols.append(Col("text", "Description", "city"))
        labels = [col.label for col in cols]
        rows = gen_rows(rng, cols, rng.choice([5, 10, 25, 60]), ctx)
        # every file holds at least one non-ASCII value
        for ci, col in enumerate(cols):
            if col.ctype == "text":
                src = {"latin1": LATIN1_TEXT, "cp1250": CP1250_TEXT, "cp1252": CP1252_TEXT,
                       "utf8": UTF8_TEXT}[charset]
                rows[0][ci] = src[i % len(src)]
                break
        dia = Dialect(delim=d)
        lines = [render_row(labels, dia)] + [render_row(r, dia) for r in rows]
        options = {"encoding": {"utf-16le": "utf-16", "utf-16be": "utf-16"}.get(enc, enc)}
        if d != ",":
            options["delimiter"] = d
        note = {"utf-16le": "UTF-16 little endian with BOM",
                "utf-16be": "UTF-16 big endian with BOM"}.get(enc)
        c.add_csv(prefix="encoding", category="encoding", labels=labels, rows=rows,
                  text=join_lines(lines, "\r\n" if i % 2 else "\n", True), options=options,
                  encoding=pyenc, note=note)


# ---- 9. bad rows / padding -----------------------------------------------------------------

def gen_bad_rows(c, rng):
    for i in range(24):
        d = ";" if i % 6 == 5 else ","
        ctx = Ctx(delim=d, special=0.1 if i % 3 == 0 else 0.0, newline_ok=False)
        ncols = rng.randint(2, 12)
        cols, rows = simple_table(rng, ncols=ncols, ctx=ctx, nrows=rng.choice([8, 12, 20, 40]))
        dia = Dialect(delim=d)
        labels = [col.label for col in cols]
        over_limit = i >= 22
        nbad = rng.randint(4, 6) if over_limit else rng.randint(1, 6)
        lines = [render_row(r, dia) for r in rows]
        kinds = []
        for b in range(nbad):
            extra = gen_rows(rng, cols, 1, ctx)[0]
            kind = ["many", "few", "trailing"][(i + b) % 3]
            raw = [render_field(v, dia) for v in extra]
            if kind == "many":
                raw += [render_field(gen_value(rng, Col("int", "x"), ctx, 0), dia)] * \
                    rng.randint(1, 3)
            elif kind == "few":
                raw = raw[:rng.randint(1, ncols - 1)]
                if not any(raw):
                    raw[0] = "7"
            else:
                raw += [""]
            kinds.append(kind)
            pos = rng.randint(3, len(lines))
            lines.insert(pos, d.join(raw))
        lines.insert(0, render_row(labels, dia))
        options = {"on_bad_rows": "skip", "max_bad_rows": "2" if over_limit else "10"}
        exception = None
        if over_limit:
            exception = ("%d bad rows but max_bad_rows is 2: the import must fail" % nbad)
        c.add_csv(prefix="bad_rows", category="bad_rows", labels=labels, rows=rows,
                  text=join_lines(lines, "\n", True), options=options, bad_rows=nbad,
                  exception=exception,
                  note="bad rows: " + ", ".join(kinds) +
                       " (too many fields / too few fields / one extra trailing empty field)")


def gen_pad(c, rng):
    for i in range(12):
        ncols = rng.randint(3, 12)
        cols, rows = simple_table(rng, ncols=ncols, first_id=True,
                                  nrows=rng.choice([6, 10, 20, 40]))
        dia = Dialect()
        labels = [col.label for col in cols]
        lines = [render_row(labels, dia)]
        for r, row in enumerate(rows):
            if r % 3 == 1 or rng.random() < 0.2:
                k = rng.randint(1, ncols - 1)
                for ci in range(ncols - k, ncols):
                    row[ci] = None
                raw = [render_field(v, dia) for v in row[:ncols - k]]
                lines.append(",".join(raw))
            else:
                lines.append(render_row(row, dia))
        c.add_csv(prefix="pad_trailing", category="pad_trailing", labels=labels, rows=rows,
                  text=join_lines(lines, "\r\n" if i % 2 else "\n", True),
                  options={"pad_missing_trailing": "true"},
                  note="rows missing only trailing empty fields (Excel style)")


# ---- 10. broken header ---------------------------------------------------------------------

def gen_broken_header(c, rng):
    for i in range(12):
        ncols = rng.randint(2, 10)
        types = ["int"] + [rng.choice(["int", "dec", "date", "text", "bool"])
                           for _ in range(ncols - 1)]
        cols = pick_columns(rng, ncols, types=types)
        rows = gen_rows(rng, cols, rng.choice([5, 10, 20]), Ctx())
        dia = Dialect()
        labels = [col.label for col in cols]
        variant = i % 3
        if variant == 0:
            header = labels[:-1]
            how = "one field fewer"
        elif variant == 1:
            header = labels + ["Extra"]
            how = "one field more"
        else:
            header = labels + [""]
            how = "one field more (a trailing delimiter)"
        lines = [render_row(header, dia)] + [render_row(r, dia) for r in rows]
        c.add_csv(prefix="broken_header", category="broken_header", labels=labels, rows=rows,
                  text=join_lines(lines, "\n", True), header=False,
                  options={"skip_lines": "1", "header": "false"},
                  note="the header has %s than the data rows; loads with the header skipped"
                       % how)


# ---- 11. stray / unterminated quotes -------------------------------------------------------

STRAY = ['5" screen', '12" pizza', 'Bob "Bobby" Jones', 'The "Best" one', "Rock 'n' roll",
         '"Quoted" start', 'ends with "', 'He said "hi', '3.5" floppy']


def gen_stray_quote(c, rng):
    for i in range(14):
        ncols = rng.randint(2, 8)
        types = ["int", "text"] + [rng.choice(["int", "dec", "text", "date"])
                                   for _ in range(ncols - 2)]
        cols = pick_columns(rng, ncols, types=types)
        ctx = Ctx(quote="", forbid=",")
        rows = gen_rows(rng, cols, rng.choice([6, 10, 20]), ctx)
        labels = [col.label for col in cols]
        if i < 9:
            nstray = rng.randint(1, 3)
            for k in range(nstray):
                rows[rng.randrange(len(rows))][1] = STRAY[(i + k) % len(STRAY)]
            dia = Dialect(quote="")
            lines = [render_row(labels, dia)] + [render_row(r, dia) for r in rows]
            c.add_csv(prefix="stray_quote", category="stray_quote", labels=labels, rows=rows,
                      text=join_lines(lines, "\n", True), options={"enclosure": ""},
                      note="quote characters inside unquoted values; loads exactly with "
                           "quoting off (DuckDB 1.4 also keeps a mid-value quote literal "
                           "with the default quote)")
        else:
            dia = Dialect()
            good = [render_row(r, dia) for r in rows]
            pos = rng.randint(2, len(good) - 1) if i % 2 else len(good)
            bad_vals = gen_rows(rng, cols, 1, Ctx(forbid='",'))[0]
            raw = [render_field(v, dia) for v in bad_vals]
            raw[1] = '"' + (raw[1] or "Unclosed value") + " never closed"
            lines = [render_row(labels, dia)] + good[:pos] + [",".join(raw)] + good[pos:]
            where = "the last line" if pos == len(good) else "line %d" % (pos + 2)
            c.add_csv(prefix="stray_quote", category="stray_quote", labels=labels, rows=rows,
                      text=join_lines(lines, "\n", True),
                      options={"on_bad_rows": "skip", "max_bad_rows": "10"}, bad_rows=1,
                      exception="an unterminated quoted field at %s: the quote runs to the end "
                                "of the file, so the file cannot be parsed exactly (DuckDB's "
                                "sniffer fails even with ignore_errors); rows are the good "
                                "rows, for reference" % where)


# ---- 12. empty lines -----------------------------------------------------------------------

def gen_empty_lines(c, rng):
    for i in range(16):
        ncols = rng.randint(2, 15)  # never 1: DuckDB reads an empty line as a NULL row then
        cols, rows = simple_table(rng, ncols=ncols, nrows=rng.choice([5, 10, 20, 50]))
        dia = Dialect()
        labels = [col.label for col in cols]
        lines = [render_row(labels, dia)]
        if i % 4 == 0:
            lines.append("")
        for row in rows:
            lines.append(render_row(row, dia))
            if rng.random() < 0.25:
                lines += [""] * rng.randint(1, 2)
        lines += [""] * rng.randint(1, 3)
        c.add_csv(prefix="empty_lines", category="empty_lines", labels=labels, rows=rows,
                  text=join_lines(lines, "\r\n" if i % 3 == 1 else "\n", True),
                  note="empty lines between rows and at the end are not rows")


# ---- 13. large -----------------------------------------------------------------------------

def long_text(rng, size, quoted_specials=False):
    words = ["lorem", "ipsum", "dolor", "sit", "amet", "data", "swan", "import", "value",
             "field", "long", "text", "row", "column"]
    parts, n = [], 0
    while n < size:
        w = rng.choice(words)
        if quoted_specials and rng.random() < 0.02:
            w = rng.choice(['"quoted"', "comma,", "line\nbreak"])
        parts.append(w)
        n += len(w) + 1
    return " ".join(parts)[:size].strip() + "end"


def gen_large(c, rng):
    # very wide
    for ncols in [200, 256, 300, 500, 700, 1000]:
        labels = ["Metric %04d" % (k + 1) for k in range(ncols)]
        labels[0] = "ID"
        cols = [Col("int", "ID", seq=True)] + [
            Col(rng.choice(["int", "dec"]), lab, null_p=0.05) for lab in labels[1:]]
        rows = gen_rows(rng, cols, rng.randint(3, 8), Ctx())
        dia = Dialect()
        lines = [render_row(labels, dia)] + [render_row(r, dia) for r in rows]
        c.add_csv(prefix="large", category="large", labels=labels, rows=rows,
                  text=join_lines(lines, "\n", True), note="wide: %d columns" % ncols)
    # very long fields
    for size, quoted in [(100_000, False), (300_000, True), (500_000, False), (1_000_000, True)]:
        cols = [Col("int", "ID", seq=True), Col("text", "Body", "note"), Col("dec", "Amount")]
        rows = gen_rows(rng, cols, 5, Ctx())
        rows[2][1] = long_text(rng, size, quoted)
        dia = Dialect()
        labels = [col.label for col in cols]
        lines = [render_row(labels, dia)] + [render_row(r, dia) for r in rows]
        c.add_csv(prefix="large", category="large", labels=labels, rows=rows,
                  text=join_lines(lines, "\n", True),
                  note="one value of about %d characters%s" %
                       (size, ", quoted with quotes, commas and line breaks" if quoted else ""))
    # many rows
    for nrows, ncols in [(20_000, 6), (30_000, 4)]:
        types = ["int", "text", "dec", "date", "int", "bool"][:ncols]
        cols = pick_columns(rng, ncols, types=types, nulls=False)
        cols[0].seq = True
        rows = gen_rows(rng, cols, nrows, Ctx())
        dia = Dialect()
        labels = [col.label for col in cols]
        lines = [render_row(labels, dia)] + [render_row(r, dia) for r in rows]
        c.add_csv(prefix="large", category="large", labels=labels, rows=rows,
                  text=join_lines(lines, "\n", True), note="many rows: %d" % nrows)


# ---- 14. gzip ------------------------------------------------------------------------------

def gen_gzip(c, rng):
    for i in range(16):
        kind = ["plain", "semicolon", "headerless", "quotes", "bom", "tab"][i % 6]
        d = {"semicolon": ";", "tab": "\t"}.get(kind, ",")
        header = kind != "headerless"
        ctx = Ctx(delim=d, special=0.3 if kind == "quotes" else 0.0)
        if header:
            cols, rows = simple_table(rng, ctx=ctx, nrows=rng.choice([10, 50, 200, 1000]))
        else:
            ncols = rng.randint(1, 10)
            cols = pick_columns(rng, ncols, types=[rng.choice(["int", "dec", "date"])
                                                   for _ in range(ncols)])
            rows = gen_rows(rng, cols, 30, ctx)
        dia = Dialect(delim=d)
        labels = [col.label for col in cols]
        lines = ([render_row(labels, dia)] if header else []) + [render_row(r, dia)
                                                                 for r in rows]
        options = {}
        if d != ",":
            options["delimiter"] = d
        if not header:
            options["header"] = "false"
        c.add_csv(prefix="gzip", category="gzip", labels=labels, rows=rows,
                  text=join_lines(lines, "\r\n" if i % 2 else "\n", True), ext=".csv.gz",
                  options=options, header=header, bom=(kind == "bom"), compress=True,
                  note="gzip-compressed %s CSV" % kind)


# ---- 15. mixed line endings ----------------------------------------------------------------

def gen_mixed_eol(c, rng):
    for i in range(12):
        ctx = Ctx(special=0.2 if i % 3 == 0 else 0.0, newline_ok=(i % 3 == 0))
        cols, rows = simple_table(rng, ncols=rng.randint(1, 12), ctx=ctx,
                                  nrows=rng.choice([5, 10, 30, 80]))
        dia = Dialect()
        labels = [col.label for col in cols]
        lines = [render_row(labels, dia)] + [render_row(r, dia) for r in rows]
        eols = [rng.choice(["\n", "\r\n"]) for _ in lines]
        eols[0], eols[1 % len(eols)] = "\r\n", "\n"
        if len(eols) > 2:
            eols[2] = "\r\n"
        c.add_csv(prefix="mixed_eol", category="mixed_eol", labels=labels, rows=rows,
                  text=join_lines(lines, eols, i % 4 != 3),
                  note="LF and CRLF mixed (DuckDB 1.4's sniffer alone rejects such files)")


# --------------------------------------------------------------------------------------------
# JSON

def json_value_text(v):
    """value::VARCHAR of what DuckDB's read_json infers for a JSON value."""
    if v is None:
        return None
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return json_num(v)
    if isinstance(v, str):
        return v
    return nested_text(v)


def json_num(v):
    if isinstance(v, int):
        return str(v)
    return repr(v)


def nested_text(v):
    # Inside STRUCT/LIST printing, strings are unquoted; the corpus only nests plain words.
    if v is None:
        return "NULL"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return json_num(v)
    if isinstance(v, str):
        assert re.fullmatch(r"[A-Za-z][A-Za-z0-9]*", v), v
        return v
    if isinstance(v, list):
        return "[" + ", ".join(nested_text(x) for x in v) + "]"
    return "{" + ", ".join("'%s': %s" % (k, nested_text(x)) for k, x in v.items()) + "}"


JSON_KEY_SETS = [
    [("id", "seq"), ("name", "product"), ("price", "dec"), ("in_stock", "bool")],
    [("order_id", "seq"), ("customer", "person"), ("city", "city"), ("total", "dec"),
     ("created", "date")],
    [("sku", "sku"), ("qty", "int"), ("status", "status"), ("updated_at", "ts")],
    [("user", "person"), ("email", "email"), ("visits", "int"), ("score", "dec"),
     ("active", "bool")],
]


def json_scalar(rng, t, r):
    if t == "seq":
        return r + 1
    if t == "int":
        return rng.choice([rng.randint(2, 999), -rng.randint(2, 99)])
    if t == "dec":
        return float(gen_dec(rng))
    if t == "bool":
        return rng.random() < 0.5
    if t == "date":
        return gen_date(rng)
    if t == "ts":
        return gen_ts(rng)
    return gen_text(rng, t, Ctx())


def make_records(rng, keyset, nrows, missing=0.0, nested=False, arrays=False):
    recs = []
    for r in range(nrows):
        rec = {}
        for k, t in keyset:
            if missing and t != "seq" and rng.random() < missing:
                continue
            rec[k] = json_scalar(rng, t, r)
        if nested:
            rec["dims"] = {"w": rng.randint(2, 99), "h": rng.randint(2, 99),
                           "unit": rng.choice(["cm", "mm", "inch"])}
            if nested == 2:
                rec["meta"] = {"source": rng.choice(["web", "shop", "api"]),
                               "tags": {"a": rng.randint(2, 9), "b": rng.choice(["x", "y"])}}
        if arrays:
            rec["scores"] = [rng.randint(2, 99) for _ in range(rng.randint(1, 4))]
            rec["tags"] = rng.sample(["red", "blue", "sale", "new", "eco", "hot"],
                                     rng.randint(1, 3))
        recs.append(rec)
    # every key of the key set appears in the first record at least once overall
    return recs


def records_table(recs):
    keys = []
    for rec in recs:
        for k in rec:
            if k not in keys:
                keys.append(k)
    rows = [[json_value_text(rec.get(k)) for k in keys] for rec in recs]
    return keys, rows


def gen_json(c, rng):
    def emit(category, recs, layout, ext, note=None, bom=False, compress=False):
        keys, rows = records_table(recs)
        if layout == "pretty":
            text = json.dumps(recs, ensure_ascii=False, indent=2)
        elif layout == "oneline":
            text = json.dumps(recs, ensure_ascii=False, separators=(",", ":"))
        elif layout == "ndjson":
            text = "\n".join(json.dumps(r, ensure_ascii=False) for r in recs) + "\n"
        elif layout == "concat":
            text = "".join(json.dumps(r, ensure_ascii=False, separators=(",", ":"))
                           for r in recs)
        else:
            raise ValueError(layout)
        data = (("\ufeff" if bom else "") + text).encode("utf-8")
        options = {} if ext == ".json" else {"format": "json"}
        c.add(prefix="json", ext=ext, kind="json", category=category, data=data,
              columns=rename_columns(keys), labels=keys, rows=rows, options=options, note=note,
              compress=compress)

    def ks(i):
        return JSON_KEY_SETS[i % len(JSON_KEY_SETS)]

    n = lambda: rng.choice([3, 5, 10, 25, 60])  # noqa: E731
    for i in range(8):
        emit("json_array", make_records(rng, ks(i), n()), "pretty", ".json",
             "array of objects, pretty-printed")
    for i in range(8):
        emit("json_array", make_records(rng, ks(i), n()), "oneline", ".json",
             "array of objects on one line")
    for i in range(7):
        emit("json_lines", make_records(rng, ks(i), n()), "ndjson", ".jsonl",
             "one object per line (.jsonl)")
    for i in range(5):
        emit("json_lines", make_records(rng, ks(i), n()), "ndjson", ".json",
             "one object per line in a .json file")
    for i in range(5):
        emit("json_concat", make_records(rng, ks(i), n()), "concat", ".json",
             "objects one after another with no separator")
    for i in range(6):
        emit("json_nested", make_records(rng, ks(i), n(), nested=1 + i % 2),
             ["pretty", "ndjson", "oneline"][i % 3], ".json",
             "nested objects become STRUCT columns printed as {'key': value}")
    for i in range(6):
        emit("json_arrays", make_records(rng, ks(i), n(), arrays=True),
             ["pretty", "ndjson", "oneline"][i % 3], ".jsonl" if i % 3 == 1 else ".json",
             "arrays become LIST columns printed as [1, 2] / [a, b]")
    rename_sets = [
        [("Product Name", "product"), ("Unit Price (€)", "dec"), ("Qty.", "int")],
        [("Název", "product"), ("Počet kusů", "int"), ("Cena za kus", "dec")],
        [("order id", "seq"), ("Order-ID", "int"), ("ship date", "date")],
        [("2024 Sales", "dec"), ("E-mail", "email"), ("", "int"), ("Active?", "bool")],
        [("Customer Name", "person"), ("customer_name", "person"), ("CUSTOMER NAME", "city")],
    ]
    for i, keyset in enumerate(rename_sets):
        emit("json_renaming", make_records(rng, keyset, n()), ["pretty", "ndjson"][i % 2],
             ".json", "keys needing renaming")
    for i in range(5):
        emit("json_missing", make_records(rng, ks(i), rng.choice([10, 25, 60]), missing=0.3),
             ["pretty", "ndjson", "oneline", "concat", "pretty"][i], ".json",
             "keys missing in some objects are NULL; columns in order of first appearance")
    for i in range(3):
        emit("json_bom", make_records(rng, ks(i), n()), ["pretty", "ndjson", "oneline"][i],
             ".json", "UTF-8 BOM before the document", bom=True)
    for i in range(4):
        emit("json_gzip", make_records(rng, ks(i), rng.choice([20, 200, 1000])),
             ["pretty", "ndjson", "oneline", "ndjson"][i], ".json.gz", "gzip-compressed JSON",
             compress=True)
    # documents that are not records: must be rejected
    invalid = [
        ("42", ".json", "a bare scalar"),
        ('"just a string"', ".json", "a bare string"),
        ("[1, 2, 3]", ".json", "an array of numbers"),
        ('["a", "b"]', ".json", "an array of strings"),
        ('{"a": [1, 2], "b": [3, 4]}', ".json", "an object of columns"),
        ('[{"a": 1}, {"a": ', ".json", "truncated JSON"),
        ("[]", ".json", "an empty array"),
        ("[[1, 2], [3, 4]]", ".json", "an array of arrays"),
        ('[{"a": 1}, {"a": 2}]\n', ".jsonl", "a JSON array sent as jsonl (by the .jsonl name)"),
    ]
    for text, ext, what in invalid:
        c.add(prefix="json_invalid", ext=ext, kind="json", category="json_invalid",
              data=text, columns=[], labels=[], rows=[], options={},
              exception="not records: must be rejected", expect_reject=True, note=what)


# --------------------------------------------------------------------------------------------

def main(argv):
    if len(argv) != 2:
        print("usage: generate.py OUTDIR", file=sys.stderr)
        return 2
    outdir = argv[1]
    os.makedirs(outdir, exist_ok=True)
    corpus = Corpus(outdir)
    steps = [gen_plain, gen_delimiter, gen_quotes, gen_headerless, gen_preamble, gen_multiheader,
             gen_renaming, gen_encoding, gen_bad_rows, gen_pad, gen_broken_header,
             gen_stray_quote, gen_empty_lines, gen_large, gen_gzip, gen_mixed_eol, gen_json]
    for k, step in enumerate(steps):
        step(corpus, random.Random(SEED * 100 + k))  # one stream per category: stable
    corpus.write_index()
    ncsv = sum(1 for x in corpus.cases if x["kind"] == "csv")
    print("wrote %d cases (%d csv, %d json) to %s" % (len(corpus.cases), ncsv,
                                                      len(corpus.cases) - ncsv, outdir))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
