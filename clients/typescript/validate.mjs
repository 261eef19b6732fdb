// Validates an OpenAPI document against the official OpenAPI 3.1 JSON Schema
// (@seriousme/openapi-schema-validator, independent of the Rust side and of Redocly).
import { Validator } from "@seriousme/openapi-schema-validator";

const file = process.argv[2];
const validator = new Validator();
const result = await validator.validate(file);
if (validator.version !== "3.1") {
  console.error(`${file}: expected an OpenAPI 3.1 document, found ${validator.version}`);
  process.exit(1);
}
if (!result.valid) {
  console.error(JSON.stringify(result.errors, null, 2));
  console.error(`${file}: ${result.errors.length} errors against the OpenAPI 3.1 schema`);
  process.exit(1);
}
console.log(`${file}: a valid OpenAPI ${validator.version} document (0 errors)`);
