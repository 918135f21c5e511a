// Typeset each LaTeX string of a JSON list (stdin) with KaTeX in strict mode; print a JSON
// list of error messages (null where it typeset). Usage: node katex_render.js KATEX_DIR
const katex = require(process.argv[2]);
const samples = JSON.parse(require("fs").readFileSync(0, "utf8"));
const errors = samples.map((tex) => {
  try {
    katex.renderToString(tex, { displayMode: true, throwOnError: true, strict: "error" });
    return null;
  } catch (e) {
    return String(e.message);
  }
});
console.log(JSON.stringify(errors));
