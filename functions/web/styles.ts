/** The whole stylesheet: small enough to inline, so a page is one request plus the form script. */
export const STYLES = `
:root{--ink:#1d2430;--muted:#5b6575;--line:#d5dae1;--bg:#f6f7f9;--accent:#1f5fbf;--err:#b3261e;--ok:#1e7a3c;--warn:#a05a00;font:16px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--ink)}
*{box-sizing:border-box}html{scroll-padding-bottom:var(--save-bar,6rem)}@media (max-width:40rem){html:has(form .actions){scroll-padding-bottom:var(--save-bar,13rem)}}body{margin:0;background:var(--bg)}
a{color:var(--accent)}a:focus,button:focus,input:focus,select:focus,textarea:focus,.scroll:focus{outline:3px solid var(--accent);outline-offset:1px}
header.top{display:flex;gap:1rem;align-items:center;justify-content:space-between;padding:.6rem 1rem;background:#fff;border-bottom:1px solid var(--line);flex-wrap:wrap}
header.top .who{color:var(--muted);font-size:.9rem}header.top form{display:inline}
main{max-width:1100px;margin:0 auto;padding:1rem}
h1{font-size:1.4rem;margin:.2rem 0 1rem}h2{font-size:1.15rem;margin:1.5rem 0 .5rem}
.card{background:#fff;border:1px solid var(--line);border-radius:6px;padding:1rem;margin-bottom:1rem}
table{border-collapse:collapse;width:100%;background:#fff}th,td{border:1px solid var(--line);padding:.35rem .5rem;text-align:left;vertical-align:top;font-size:.92rem}
th{background:#eef1f5}.scroll{overflow-x:auto}code.hash{word-break:break-all}
.dashboard td,.dashboard th{white-space:nowrap;text-align:center}.dashboard th:first-child,.dashboard td:first-child{text-align:left;position:sticky;left:0;background:#fff}
.st{display:inline-block;width:.9rem;height:.9rem;border-radius:2px;border:1px solid #8891a0;vertical-align:middle;margin:1px}
.st-not_started{background:transparent;border:1px dashed #5b6575;border-radius:50%}.st-incomplete{background:#e5484d}.st-unverified{background:#f5c542}.st-complete{background:#30a46c}
.badge{display:inline-block;font-size:.75rem;padding:0 .35rem;border-radius:3px;border:1px solid currentColor;margin-left:.25rem}
.in-error td,.in-error>a:not(.restore){text-decoration:line-through}.in-error .badge,.in-error .restore{display:inline-block;text-decoration:none}
.t-due{color:var(--accent)}.t-overdue{color:var(--err);font-weight:600}.t-out-of-window{color:var(--warn)}.t-done{color:var(--ok)}.t-upcoming{color:var(--muted)}
.date,.status{white-space:nowrap}.progress{margin:.15rem 0 0;font-weight:400;font-size:.85rem;color:var(--muted)}
.dashboard td[data-event] a{display:inline-flex;flex-wrap:wrap;align-items:center;justify-content:center;min-width:24px;min-height:24px;padding:3px 2px}
table.audit ul{margin:0;padding-left:1rem}
.dash-scroll{overflow:auto;max-height:calc(100vh - 2.5rem);border:1px solid var(--line)}.dashboard thead th{position:sticky;top:0;z-index:1}.dashboard thead th:first-child{z-index:2}
.filters{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:end;margin:.5rem 0}.filters label{display:flex;flex-direction:column;font-size:.88rem;max-width:100%}.filters input[type=text]{width:12rem}
.filters select{max-width:100%;font:inherit;padding:.4rem .5rem;border:1px solid #9aa3b1;border-radius:4px;min-height:2.5rem}.pager{display:flex;gap:1rem;margin:.5rem 0}
.legend{font-size:.85rem;color:var(--muted);margin:.5rem 0}
.dashboard td.v-incomplete,.key.v-incomplete{background:#fde2e2}.dashboard td.v-unverified,.key.v-unverified{background:#fdf0c4}.dashboard td.v-complete,.key.v-complete{background:#d7f0e1}.key{padding:0 .3rem;color:#1b1f24}
.dashboard td b{font-weight:600;font-size:.75rem}.dashboard td b.t-overdue{color:#8a1c16}.dashboard td b.t-due{color:#174a96}.dashboard td b.t-out-of-window{color:#6b3c00}
.dashboard td[class^=v-]::after{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}.dashboard td.v-incomplete::after{content:", some incomplete"}.dashboard td.v-unverified::after{content:", some unverified"}.dashboard td.v-complete::after{content:", all saved complete"}.dashboard th[scope=row] a{display:inline-block;min-width:24px;min-height:24px;line-height:24px}
.field{margin:0 0 1rem;padding:.2rem 0}.field>label,.field legend{display:block;font-weight:600;margin-bottom:.2rem}
.field fieldset{border:0;padding:0;margin:0}.field dl{margin:0}.field dt{font-weight:600}.field dd{margin:.2rem 0 0}.req{color:var(--err);margin-left:.15rem}
.help{color:var(--muted);font-size:.88rem;margin:.1rem 0 .3rem}.unit{margin-left:.35rem;color:var(--muted)}
.error{color:var(--err);font-weight:600;margin:.25rem 0 0}.warning{color:var(--warn);font-weight:600;margin:.25rem 0 0}.warning:empty{display:none}label.confirm{display:block;font-weight:400}details.missing{margin:.25rem 0 0}details.missing summary{color:var(--muted);cursor:pointer}.error:empty{display:none}.field .error:empty{display:block}.field .error{min-height:1.45em}
[aria-invalid=true]{border-color:var(--err)!important;box-shadow:0 0 0 1px var(--err)}
input[type=text],input[type=date],input[type=time],input[type=email],input[type=datetime-local],select,textarea{font:inherit;padding:.4rem .5rem;border:1px solid #9aa3b1;border-radius:4px;max-width:100%;min-height:2.5rem}
input[type=text]{width:18rem}textarea{width:100%;min-height:5rem}
.choice{display:flex;gap:.4rem;align-items:center;padding:.2rem 0;min-height:2.2rem}.choice input{width:1.15rem;height:1.15rem}.qnum{margin-right:.4rem}.field[data-align$=H] .choice{display:inline-flex;margin-right:1.2rem}.field[data-align^=R]>label,.field[data-align^=R] legend{text-align:right}
h2.section{border-bottom:1px solid var(--line);padding-bottom:.2rem}
output{display:inline-block;min-width:6rem;padding:.4rem .5rem;background:#eef1f5;border-radius:4px}
.date-entry .format-hint{display:block;color:var(--muted);font-size:.88rem;margin-bottom:.2rem}.date-entry input[type=text]{width:11rem}.date-entry output.echo{background:none;min-width:11rem;white-space:nowrap}
button,.button{font:inherit;padding:.5rem .9rem;border-radius:4px;border:1px solid var(--accent);background:var(--accent);color:#fff;cursor:pointer;text-decoration:none;display:inline-block;min-height:2.5rem}
button.secondary,.button.secondary{background:#fff;color:var(--accent)}button[hidden]{display:none}
.after-save{display:inline-flex;gap:.4rem;align-items:center;max-width:100%}.after-save select{max-width:16rem}
.actions{display:flex;gap:.5rem;flex-wrap:wrap;align-items:center;position:sticky;bottom:0;background:var(--bg);padding:.75rem 0;border-top:1px solid var(--line)}
.notice{border-left:4px solid var(--accent);background:#fff;padding:.6rem .8rem;margin:0 0 1rem}.notice.bad{border-color:var(--err)}.notice.warn{border-color:var(--warn)}
.notice.ok{border-color:var(--ok)}
ul.field-queries{list-style:none;margin:-.5rem 0 1rem;padding:0;font-size:.85rem}ul.field-queries a{display:inline-block;min-height:24px;padding:.1rem 0}.q-open{color:var(--err)}.q-answered{color:var(--warn)}.q-closed{color:var(--muted)}
article.query ol.messages{list-style:none;padding:0;margin:0 0 .5rem}article.query ol.messages p{margin:.15rem 0 .5rem;overflow-wrap:anywhere}form.query-action{margin-top:.5rem}form.query-action textarea{display:block;width:100%;max-width:40rem;box-sizing:border-box}
details.history{font-size:.85rem;color:var(--muted);margin-top:.25rem}details.history li{margin:.15rem 0}
.file p{margin:.2rem 0}.file input[type=file]{font:inherit;max-width:100%}.signature-pad[hidden]{display:none}.signature-pad{display:flex;flex-wrap:wrap;gap:.5rem;align-items:flex-end;margin:.3rem 0}.signature-pad canvas{width:100%;max-width:600px;aspect-ratio:3/1;border:1px solid #9aa3b1;border-radius:4px;background:#fff;touch-action:none;cursor:crosshair}
.theirs{font-size:.85rem;color:var(--warn);margin:.2rem 0}
input.wide{width:100%}textarea.code{min-height:28rem;font-family:ui-monospace,monospace;font-size:.85rem}
dl.details{margin:0;font-size:.85rem}dl.details dt{display:inline;font-weight:600}dl.details dt::after{content:": "}dl.details dd{display:inline;margin:0}dl.details dd::after{content:"";display:block}.muted{color:var(--muted);font-size:.8rem}
.visually-hidden{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}
@media (max-width:800px){main{padding:.6rem}input[type=text]{width:100%}}
.casebook-print ul.review{margin:.2rem 0;padding-left:1rem;font-size:.88rem}.casebook-print .form-block{margin:0 0 1rem}.casebook-print h3{font-size:1rem;margin:1rem 0 .3rem}.casebook-print table.values th{width:40%;font-weight:400;background:var(--bg)}
@media print{header.top,.no-print{display:none}body{background:#fff}main{max-width:none;padding:0}.casebook-print .visit{break-before:page}.casebook-print .form-block,.casebook-print tr{break-inside:avoid}.casebook-print a{color:inherit;text-decoration:none}.casebook-print th{background:none}}
`;
