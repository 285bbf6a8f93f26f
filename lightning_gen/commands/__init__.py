"""Subcommands of ``lightning-gen`` beyond LightningCLI's fit/validate/test/predict.

Each module defines ``add_arguments(parser)`` and ``run(args) -> int``; ``COMMANDS`` maps the subcommand
name to its module path (imported lazily so ``lightning-gen fit`` does not pay for the others).
"""

COMMANDS: dict[str, str] = {
    "sample": "lightning_gen.commands.sample",
    "evaluate": "lightning_gen.commands.evaluate",
    "inpaint": "lightning_gen.commands.inpaint",
    "superres": "lightning_gen.commands.superres",
    "colorize": "lightning_gen.commands.colorize",
    "reconstruct": "lightning_gen.commands.reconstruct",
    "export": "lightning_gen.commands.export",
    "translate": "lightning_gen.commands.translate",
    "vary": "lightning_gen.commands.vary",
}

__all__ = ["COMMANDS"]
