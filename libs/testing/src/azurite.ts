import { ChildProcess, spawn } from 'node:child_process';
import { connect } from 'node:net';
import { join } from 'node:path';
import {
  AccountSASPermissions,
  AccountSASResourceTypes,
  AccountSASServices,
  generateAccountSASQueryParameters,
  SASProtocol,
  StorageSharedKeyCredential,
} from '@azure/storage-blob';
import { projectRoot, tempDir } from './paths';
import { freePort } from './ports';

/** Azurite's documented development account (public, the same on every machine). */
const ACCOUNT = 'devstoreaccount1';
const KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

export interface AzuriteServer {
  connectionString: string;
  /** A connection string with an account SAS for blobs (containers and objects) granting only these permissions, e.g. 'rwlac' (no delete). */
  sasConnectionString(permissions: string): string;
  port: number;
  /** Where it keeps its data: start another on the same port and location to bring the same account back. */
  location: string;
  stop(): Promise<void>;
}

/** Starts Azurite's blob service (the npm devDependency) on a free port, storing in a temp folder. */
export async function startAzurite(options: { port?: number; location?: string } = {}): Promise<AzuriteServer> {
  const port = options.port ?? (await freePort());
  const location = options.location ?? tempDir();
  const bin = join(projectRoot(), 'node_modules/azurite/dist/src/blob/main.js');
  const child: ChildProcess = spawn(
    process.execPath,
    [bin, '--blobHost', '127.0.0.1', '--blobPort', String(port), '--location', location, '--silent', '--disableTelemetry', '--skipApiVersionCheck', '--loose'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
  const deadline = Date.now() + 20_000;
  while (!(await listening(port))) {
    if (child.exitCode !== null) throw new Error(`azurite exited ${child.exitCode}: ${stderr}`);
    if (Date.now() > deadline) throw new Error(`azurite not listening on ${port} within 20 s: ${stderr}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    port,
    location,
    connectionString: `DefaultEndpointsProtocol=http;AccountName=${ACCOUNT};AccountKey=${KEY};BlobEndpoint=http://127.0.0.1:${port}/${ACCOUNT};`,
    sasConnectionString(permissions) {
      const sas = generateAccountSASQueryParameters(
        {
          expiresOn: new Date(Date.now() + 3_600_000),
          permissions: AccountSASPermissions.parse(permissions),
          resourceTypes: AccountSASResourceTypes.parse('co').toString(),
          services: AccountSASServices.parse('b').toString(),
          protocol: SASProtocol.HttpsAndHttp,
        },
        new StorageSharedKeyCredential(ACCOUNT, KEY),
      ).toString();
      return `BlobEndpoint=http://127.0.0.1:${port}/${ACCOUNT};SharedAccessSignature=${sas}`;
    },
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}
