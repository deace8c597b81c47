"""The service page's inline stylesheet (no external assets)."""

STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1c1c1c;
background:#fafafa;line-height:1.45}
header{background:#1f3a5f;color:#fff;padding:1rem 2rem}
header h1{margin:0 0 .3rem;font-size:1.6rem}
header p{margin:0 0 .5rem;opacity:.9}
nav a{color:#fff;margin-right:1.2rem;font-weight:600}
main{padding:0 2rem 2rem;max-width:80rem}
h2{border-bottom:2px solid #1f3a5f;padding-bottom:.2rem;margin-top:2rem}
h3{margin-bottom:.3rem;color:#1f3a5f}
h4{margin:.8rem 0 .3rem}
table{border-collapse:collapse;margin:.4rem 0;background:#fff}
th,td{border:1px solid #d0d0d0;padding:.25rem .55rem;text-align:left;vertical-align:top}
th{background:#eef2f7}
td.num{text-align:right;font-variant-numeric:tabular-nums}
td.hw{font-weight:700}
.badge{white-space:nowrap;color:#fff;padding:.05rem .45rem;border-radius:.3rem;
font-size:.85rem;font-weight:600}
.seg{display:inline-block;width:1.1rem;height:.9rem;margin-right:2px;border-radius:2px}
.note,.meta{color:#555;font-size:.92rem}
pre{background:#f1f1f1;border:1px solid #ddd;padding:.6rem;overflow-x:auto;font-size:.8rem}
details{margin:.4rem 0}
summary{cursor:pointer;font-weight:600}
section.op{border-left:4px solid #1f3a5f;padding-left:1rem;margin:1.2rem 0}
code{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.9em}
"""
