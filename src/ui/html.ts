// The one HTML page every view path serves: the shell, the styles and the bundled script (same origin).
const CSS = `
:root{color-scheme:dark;--bg:#0f1419;--panel:#182029;--line:#2b3642;--text:#e6edf3;--dim:#a9b4c0;--link:#8cc8ff;--focus:#ffd24d}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:var(--bg);color:var(--text)}
a{color:var(--link)}
main:focus{outline:none}
a:focus-visible,button:focus-visible,input:focus-visible,select:focus-visible,canvas:focus-visible{outline:3px solid var(--focus);outline-offset:2px}
header{display:flex;align-items:center;gap:20px;padding:10px 20px;background:var(--panel);border-bottom:1px solid var(--line);position:sticky;top:0;z-index:2}
header .brand{font-weight:700;letter-spacing:.02em}
header nav{display:flex;gap:4px}
header nav a{padding:6px 12px;border-radius:6px;text-decoration:none;color:var(--text)}
header nav a[aria-current=page]{background:#2b4a6b}
header .live{margin-left:auto;color:var(--dim);font-size:13px}
main{padding:16px 20px;max-width:2400px}
h1{font-size:20px;margin:4px 0 12px}h2{font-size:16px;margin:18px 0 8px}
.totals{display:flex;flex-wrap:wrap;gap:10px;margin-bottom:12px}
.stat{background:var(--panel);border:1px solid var(--line);border-radius:8px;padding:8px 14px;min-width:120px}
.stat b{display:block;font-size:22px;font-variant-numeric:tabular-nums}
.stat span{color:var(--dim);font-size:12px}
.legend{display:flex;flex-wrap:wrap;gap:14px;margin:6px 0 10px;color:var(--dim)}
.sw{display:inline-block;width:12px;height:12px;border-radius:2px;vertical-align:-1px;margin-right:5px}
.banner{background:#4a3412;border:1px solid #a87421;padding:8px 12px;border-radius:6px;margin-bottom:12px}
.err{color:#ff9b9b}
table{border-collapse:collapse;width:100%;margin-bottom:8px}
th,td{text-align:left;padding:5px 10px;border-bottom:1px solid var(--line);vertical-align:top}
th{color:var(--dim);font-weight:600;font-size:12px;text-transform:uppercase;letter-spacing:.04em}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
.bad{color:#ff9b9b}.ok{color:#7ee2a0}.warn{color:#ffd27a}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(320px,1fr));gap:16px}
.panel{background:var(--panel);border:1px solid var(--line);border-radius:8px;padding:12px 14px}
dl{display:grid;grid-template-columns:max-content 1fr;gap:4px 14px;margin:0}dt{color:var(--dim)}dd{margin:0;word-break:break-all}
.bar{height:8px;background:#2b3642;border-radius:4px;overflow:hidden;min-width:80px}.bar i{display:block;height:100%;background:#2e9e5b}
input,select,button{font:inherit;color:var(--text);background:#0b1016;border:1px solid #4a5868;border-radius:6px;padding:6px 10px}
button{background:#2b4a6b;cursor:pointer}
form.trace{display:flex;flex-wrap:wrap;gap:10px;align-items:end}form.trace label{display:flex;flex-direction:column;gap:4px;color:var(--dim)}
pre{background:#0b1016;border:1px solid var(--line);padding:10px;border-radius:6px;overflow:auto}
.fleetwrap{position:relative}
.tip{position:absolute;pointer-events:none;background:#000d;border:1px solid #4a5868;padding:6px 9px;border-radius:6px;font-size:12px;white-space:nowrap;z-index:3}
.sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}
a.sr:focus{position:fixed;left:8px;top:8px;width:auto;height:auto;clip:auto;padding:6px 12px;background:var(--panel);border:1px solid var(--line);border-radius:6px;z-index:5}
.verdict{font-size:22px;font-weight:700}
`;

export function indexHtml(): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>vmsafe dashboard</title><style>${CSS}</style></head>
<body><div id="app"></div><script type="module" src="/app.js"></script></body></html>`;
}
