// Validates request files against one JSON Schema with ajv configured the way Backstage's form
// validator (@rjsf/validator-ajv8) configures it: draft-07, allErrors, strict mode off so the
// form-only keywords (enumNames, ui:*) are ignored; patterns compile with the "u" flag.
//
// stdin:  {"schema": {...}, "strip": ["/operatorId", ...], "extra": {...}, "files": ["a.yaml", ...]}
//         strip: JSON pointers the template fills in (removed before validation, like a form
//         that never shows them).
// stdout: [{"file", "parsed", "data", "valid", "errors": [{"instancePath", "keyword", "message"}]}]
import { readFileSync } from "node:fs";
import Ajv from "ajv";
import { parse } from "yaml";

let input = "";
process.stdin.setEncoding("utf8");
for await (const chunk of process.stdin) input += chunk;
const { schema, strip = [], extra = {}, files } = JSON.parse(input);
const ajv = new Ajv({ allErrors: true, strict: false, multipleOfPrecision: 8 });
const validate = ajv.compile(schema);

function removePointer(doc, pointer) {
  const keys = pointer.split("/").slice(1);
  let node = doc;
  for (const k of keys.slice(0, -1)) {
    if (node === null || typeof node !== "object") return;
    node = node[k];
  }
  if (node !== null && typeof node === "object") delete node[keys[keys.length - 1]];
}

const results = files.map((file) => {
  let data;
  try {
    // YAML 1.2 core schema, duplicate keys and aliases rejected: the same reading appforge uses.
    data = parse(readFileSync(file, "utf8"), { uniqueKeys: true, maxAliasCount: 0, version: "1.2", schema: "core" });
  } catch (e) {
    return { file, parsed: false, data: null, valid: false, errors: [{ instancePath: "", keyword: "parse", message: String(e.message) }] };
  }
  const formData = structuredClone(data);
  if (formData !== null && typeof formData === "object" && !Array.isArray(formData)) {
    for (const p of strip) removePointer(formData, p);
    Object.assign(formData, extra);  // answers of pages that are not part of the request (repoUrl)
  }
  const valid = validate(formData);
  const errors = (validate.errors || []).map((e) => ({ instancePath: e.instancePath, keyword: e.keyword, message: e.message }));
  return { file, parsed: true, data, valid, errors };
});
process.stdout.write(JSON.stringify(results));
