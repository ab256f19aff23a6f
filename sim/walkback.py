"""The walkback printed when a Smalltalk error stops the machine: one line per
context, innermost first, as ``Receiver class(Method class)>>selector``."""

from blocktalk.memory import format as F
from .inspect import Inspector

MAX_LINES = 40


def walkback(core):
    ins = Inspector(core)
    meta = core.firmware.method_labels
    names = core.firmware.class_names
    lines = []
    save = (core.ip, core.sp)
    core.save_registers()
    ctx = ins.loc(core.ctx)
    count = 0
    while ctx[0] not in ("int", "imm") and count < 10000:
        count += 1
        is_block = ins.class_index(ctx) == F.CLASS_INDEX["BlockContext"]
        home = ins.field(ctx, F.CTX_HOME) if is_block else ctx
        if home[0] in ("int", "imm"):
            break
        method = ins.field(home, F.CTX_METHOD)
        rcvr = ins.field(home, F.CTX_RECEIVER)
        label = meta.get(f"{method[0]}:{method[1]}", "?>>?") if method[0] not in ("int", "imm") \
            else "?>>?"
        rname = names.get(ins.class_index(rcvr), "?")
        if ">>" in label:
            cls, sel = label.split(">>", 1)
            text = f"{rname}>>{sel}" if cls == rname else f"{rname}({cls})>>{sel}"
        else:
            text = label
        if is_block:
            text = "[] in " + text
        if len(lines) < MAX_LINES:
            lines.append(text)
        ctx = ins.field(ctx, F.CTX_SENDER)
    if count > MAX_LINES:
        lines.append(f"... ({count - MAX_LINES} more)")
    core.ip, core.sp = save
    return lines
