/**
 * The run dashboard: one HTML page with plain JS that polls /api/state (the launcher's view of the
 * chain and the nodes) every second and draws the phase timeline, loss and bandwidth charts on
 * canvases, and the participants with their health.
 */
export function dashboardHtml(): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Psyche local run</title>
<style>
body{font:14px system-ui,sans-serif;margin:16px;background:#0f1115;color:#e6e6e6}
h1{font-size:18px;margin:0 0 8px} h2{font-size:14px;margin:16px 0 6px;color:#9ab}
.grid{display:grid;grid-template-columns:1fr 1fr;gap:16px}
canvas{background:#171a21;border:1px solid #2a2f3a;width:100%;height:220px}
table{border-collapse:collapse;width:100%} td,th{padding:4px 8px;border-bottom:1px solid #2a2f3a;text-align:left}
.Healthy{color:#6c6}.Dropped,.Ejected{color:#e66}.Pending,.Withdrawn{color:#cc6}
#timeline span{display:inline-block;padding:2px 6px;margin:1px;border-radius:3px;font-size:12px}
.p-waiting{background:#444}.p-warmup{background:#665}.p-train{background:#246}.p-witness{background:#462}.p-cooldown{background:#535}.p-finished{background:#333}
</style></head><body>
<h1>Psyche local run — <span id="phase">…</span> · epoch <span id="epoch">0</span> · step <span id="step">0</span> / <span id="total">0</span></h1>
<h2>Phase timeline</h2><div id="timeline"></div>
<div class="grid">
<div><h2>Training loss (per node)</h2><canvas id="loss" width="600" height="220"></canvas></div>
<div><h2>Bytes sent per step (DisTrO result vs dense bf16, log scale)</h2><canvas id="bw" width="600" height="220"></canvas></div>
</div>
<h2>Participants (on chain)</h2><table><thead><tr><th>#</th><th>key</th><th>state</th><th>witness votes this round</th></tr></thead><tbody id="participants"></tbody></table>
<h2>Node processes</h2><table><thead><tr><th>node</th><th>address</th><th>process</th><th>metrics</th></tr></thead><tbody id="nodes"></tbody></table>
<script>
const colors=['#4af','#fa4','#6d6','#e6e','#ee6','#6ee'];
function chart(id,series,opts){const c=document.getElementById(id),g=c.getContext('2d');g.clearRect(0,0,c.width,c.height);
 const pts=series.flatMap(s=>s.points);if(!pts.length)return;const xs=pts.map(p=>p[0]),ys=pts.map(p=>opts.log?Math.log10(p[1]):p[1]);
 const x0=Math.min(...xs),x1=Math.max(...xs,x0+1),y0=Math.min(...ys),y1=Math.max(...ys,y0+1e-9);const L=44,B=20,W=c.width-L-8,H=c.height-B-8;
 g.strokeStyle='#555';g.strokeRect(L,8,W,H);g.fillStyle='#999';g.font='11px sans-serif';
 g.fillText((opts.log?10**y1:y1).toPrecision(3),2,16);g.fillText((opts.log?10**y0:y0).toPrecision(3),2,8+H);g.fillText('step '+x0,L,c.height-4);g.fillText('step '+x1,L+W-40,c.height-4);
 series.forEach((s,i)=>{g.strokeStyle=s.color||colors[i%colors.length];g.beginPath();s.points.forEach((p,j)=>{const x=L+(p[0]-x0)/(x1-x0)*W,y=8+H-((opts.log?Math.log10(p[1]):p[1])-y0)/(y1-y0)*H;j?g.lineTo(x,y):g.moveTo(x,y)});g.stroke();
 g.fillStyle=g.strokeStyle;g.fillText(s.name,L+8+i*90,22)});}
async function refresh(){try{const s=await (await fetch('/api/state')).json();
 for(const k of ['phase','epoch','step']) document.getElementById(k).textContent=s[k];document.getElementById('total').textContent=s.totalSteps;
 document.getElementById('timeline').innerHTML=s.timeline.slice(-80).map(t=>'<span class="p-'+t.phase+'">'+t.phase+(t.phase==='train'||t.phase==='witness'?' '+t.step:'')+'</span>').join('');
 const nodes=[...new Set(s.losses.map(l=>l.node))].sort();
 chart('loss',nodes.map(n=>({name:'node '+n,points:s.losses.filter(l=>l.node===n).map(l=>[l.step,l.loss])})),{});
 const sent=s.bandwidth.filter(b=>b.node===nodes[0]);
 chart('bw',[{name:'DisTrO',points:sent.map(b=>[b.step,b.sent])},{name:'dense bf16',color:'#e66',points:sent.map(b=>[b.step,b.dense])}],{log:true});
 document.getElementById('participants').innerHTML=s.participants.map(p=>'<tr><td>'+p.index+'</td><td><code>'+p.key+'…</code></td><td class="'+p.state+'">'+p.state+'</td><td>'+(p.votes??'')+'</td></tr>').join('');
 document.getElementById('nodes').innerHTML=s.nodes.map(n=>'<tr><td>'+n.index+'</td><td><code>'+n.address+'</code></td><td>'+(n.alive?'running':'exited')+'</td><td>'+(n.metricsPort?'127.0.0.1:'+n.metricsPort+'/metrics':'')+'</td></tr>').join('');
}catch(e){document.getElementById('phase').textContent='(launcher gone)'}}
refresh();setInterval(refresh,1000);
</script></body></html>`;
}
