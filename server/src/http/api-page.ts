/** The human-readable API page at `/docs`, rendered from the OpenAPI document so the two never disagree. */

type JsonObject = Record<string, unknown>;

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

const METHOD_ORDER = ['post', 'get', 'delete'];

const WALKTHROUGH = `TOKEN=…   # from the server admin; a loopback server without tokens ignores the header
# 1. submit: settings JSON, the source, exemplars bottom layer first, an optional edit map;
#    the answer is {"id":"…","state":"queued","position":1,"eventsUrl":"/v1/jobs/…/events",…}: keep the id
ID=$(curl -s -H "Authorization: Bearer $TOKEN" \\
  -F settings='{"strength":0.6,"steps":20,"previews":true}' \\
  -F source=@source.png -F exemplar=@exemplar.png -F map=@map.png \\
  http://127.0.0.1:8787/v1/edits | node -pe 'JSON.parse(require("fs").readFileSync(0)).id')
# 2. follow progress (-N: do not buffer); resume after a drop with -H "Last-Event-ID: <last id>"
curl -N -H "Authorization: Bearer $TOKEN" http://127.0.0.1:8787/v1/jobs/$ID/events
# 3. fetch the PNG
curl -H "Authorization: Bearer $TOKEN" -o result.png http://127.0.0.1:8787/v1/jobs/$ID/result`;

interface PropertySchema {
  type?: string;
  enum?: unknown[];
  description?: string;
}

/** One row per settings field: its name, its type (or choices), and its description (meaning, range, default). */
function settingsTable(schema: { properties?: Record<string, PropertySchema> } | undefined): string {
  const rows = Object.entries(schema?.properties ?? {}).map(([name, property]) => {
    const type = property.enum ? property.enum.map(String).join(' | ') : (property.type ?? '');
    return `<tr><td><code>${escapeHtml(name)}</code></td><td>${escapeHtml(type)}</td><td>${escapeHtml(property.description ?? '')}</td></tr>`;
  });
  return `<table><thead><tr><th>field</th><th>type</th><th>meaning, range, default</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

export function renderApiPage(document: JsonObject): string {
  const info = document.info as { title: string; description: string };
  const paths = document.paths as Record<string, Record<string, JsonObject>>;
  const schemas = (document.components as { schemas: Record<string, unknown> }).schemas;
  const settings = schemas.EditSettings as Parameters<typeof settingsTable>[0];
  const endpoints = Object.entries(paths).flatMap(([path, operations]) =>
    METHOD_ORDER.filter((method) => operations[method]).map((method) => {
      const operation = operations[method] as { summary?: string; description?: string; responses?: JsonObject };
      const responses = Object.entries(operation.responses ?? {})
        .map(
          ([status, response]) =>
            `<li><code>${status}</code> ${escapeHtml((response as { description: string }).description)}</li>`,
        )
        .join('');
      return `<section><h3><span class="method">${method.toUpperCase()}</span> <code>${escapeHtml(path)}</code></h3>
<p>${escapeHtml(operation.summary ?? '')}</p>${operation.description ? `<p>${escapeHtml(operation.description)}</p>` : ''}
<ul>${responses}</ul></section>`;
    }),
  );
  const schemaSections = Object.entries(schemas).map(
    ([name, schema]) =>
      `<details><summary><code>${escapeHtml(name)}</code></summary><pre>${escapeHtml(JSON.stringify(schema, null, 2))}</pre></details>`,
  );
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(info.title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:15px/1.5 system-ui,sans-serif;max-width:860px;margin:2rem auto;padding:0 1rem;color:#222}
pre{background:#f5f5f5;padding:.8rem;overflow:auto;font-size:13px}code{font-size:13px}
table{border-collapse:collapse;font-size:14px}td,th{border-top:1px solid #ddd;padding:.3rem .5rem;text-align:left;vertical-align:top}
.method{display:inline-block;min-width:4.5em;font-weight:600;color:#0b5}section{border-top:1px solid #ddd;padding-top:.3rem}
</style></head><body>
<h1>${escapeHtml(info.title)}</h1>
<p>${escapeHtml(info.description)}</p>
<p>Authenticate with <code>Authorization: Bearer &lt;token&gt;</code> (not needed for health checks and this page).
Browsers and the Figma plugin may call from any origin, including <code>null</code>; no cookies are used.
The machine-readable description is <a href="/openapi.json">/openapi.json</a>.</p>
<h2>With curl</h2><pre>${escapeHtml(WALKTHROUGH)}</pre>
<h2>Edit settings</h2>
<p>The <code>settings</code> part of <code>POST /v1/edits</code>: a JSON object, every field optional.</p>
${settingsTable(settings)}
<h2>Endpoints</h2>${endpoints.join('\n')}
<h2>Schemas</h2>${schemaSections.join('\n')}
</body></html>`;
}
