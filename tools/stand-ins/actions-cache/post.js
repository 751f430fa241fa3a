// Runs the stand-in's save (textclf.rehearsal.standins cache-save) with the world's Python.
const { execFileSync } = require("node:child_process");
execFileSync(`${process.env.TEXTCLF_REHEARSAL_WORLD}/bin/python`, ["-m", "textclf.rehearsal.standins", "cache-save"], { stdio: "inherit" });
