// List every connection of an environment with the official Nango Node SDK (@nangohq/node), the way a
// script would: listConnections page after page (same page size as ours) until a short page.
//
//   node list_connections.mjs --base-url http://127.0.0.1:PORT --secret-key KEY [--page-size 1000] [--runs 1]
//
// Prints one JSON line per run: {"ms": <elapsed>, "cpu_ms": <user+system CPU of this process>, "count": <connections>,
// "pages": <requests>, "sdk": <version>}.
// The SDK has no "list all" helper and Nango returns no total, so pages are fetched one after another.
import { readFileSync } from 'node:fs';
import { Nango } from '@nangohq/node';

function arg(name, fallback) {
    const i = process.argv.indexOf(`--${name}`);
    return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

const baseUrl = arg('base-url');
const secretKey = arg('secret-key', process.env.NANGO_SECRET_KEY);
const pageSize = Number(arg('page-size', '1000'));
const runs = Number(arg('runs', '1'));
if (!baseUrl || !secretKey) {
    console.error('usage: node list_connections.mjs --base-url URL --secret-key KEY [--page-size N] [--runs N]');
    process.exit(2);
}

const sdkPackage = new URL('./node_modules/@nangohq/node/package.json', import.meta.url);
const sdkVersion = JSON.parse(readFileSync(sdkPackage, 'utf8')).version;

async function listAll(nango) {
    let count = 0;
    let pages = 0;
    for (let page = 0; ; page++) {
        // Legacy signature: the typed one whose queries take both limit and page.
        const { connections } = await nango.listConnections(undefined, undefined, { limit: pageSize, page });
        pages++;
        count += connections.length;
        if (connections.length < pageSize) {
            return { count, pages };
        }
    }
}

const nango = new Nango({ host: baseUrl, secretKey });
for (let run = 0; run < runs; run++) {
    const t0 = process.hrtime.bigint();
    const cpu0 = process.cpuUsage();
    const { count, pages } = await listAll(nango);
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    const cpu = process.cpuUsage(cpu0);
    const cpuMs = (cpu.user + cpu.system) / 1000;
    console.log(JSON.stringify({ ms, cpu_ms: cpuMs, count, pages, sdk: sdkVersion }));
}
