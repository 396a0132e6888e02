/**
 * `npm start` after infra/setup.sh: Temporal dev server, FerretDB, the demo provider, the API and one
 * worker. Services already running (or pointed elsewhere by MONGO_URI / TEMPORAL_ADDRESS) are reused.
 * Ctrl-C stops what this process started, in reverse order.
 */
import path from 'node:path';
import { loadConfigOrExit } from '../shared/config.ts';
import { ensureFerretDB, ensureTemporal, isPortOpen, log, spawnLogged, stopChild, waitForPort, type ManagedService } from './local-services.ts';

const root = path.resolve(import.meta.dirname, '..');
const config = loadConfigOrExit();
const dataDirectory = path.resolve(root, config.DATA_DIR);
const logDirectory = path.join(dataDirectory, 'logs');
const services: ManagedService[] = [];

async function startNodeService(name: string, entry: string, port?: number): Promise<ManagedService> {
  if (port !== undefined && (await isPortOpen(port))) {
    log(`${name}: port ${port} is already in use, reused`);
    return { name, reused: true };
  }
  const { child, logFile } = spawnLogged(name, process.execPath, ['--import', 'tsx', path.join(root, entry)], logDirectory);
  log(`${name}: starting (log: ${logFile})`);
  if (port !== undefined) await waitForPort(port, name, child, 60_000);
  child.once('exit', (code, signal) => {
    if (!stopping) log(`${name} exited (code ${code}, signal ${signal}); see ${logFile}`);
  });
  return { name, child, reused: false };
}

let stopping = false;
async function stopAll(reason: string, exitCode = 0) {
  if (stopping) return;
  stopping = true;
  log(`${reason}: stopping what this run started`);
  for (const service of services.reverse()) {
    if (service.child) {
      await stopChild(service.child);
      log(`${service.name} stopped`);
    }
  }
  process.exit(exitCode);
}
process.on('SIGINT', () => void stopAll('Ctrl-C'));
process.on('SIGTERM', () => void stopAll('SIGTERM'));

try {
  services.push(await ensureTemporal({ address: config.TEMPORAL_ADDRESS, uiPort: config.TEMPORAL_UI_PORT, dataDirectory, logDirectory }));
  services.push(await ensureFerretDB({ mongoUri: config.MONGO_URI, dataDirectory: path.join(dataDirectory, 'ferretdb'), logDirectory }));
  if (!process.env.DEMO_PROVIDER_URL) services.push(await startNodeService('demo-provider', 'workers/demo-provider.ts', config.DEMO_PROVIDER_PORT));
  services.push(await startNodeService('worker', 'workers/chat-worker.ts'));
  services.push(await startNodeService('api', 'api/server.ts', config.PORT));
  const temporalUi = config.TEMPORAL_ADDRESS.startsWith('127.0.0.1') || config.TEMPORAL_ADDRESS.startsWith('localhost') ? `http://127.0.0.1:${config.TEMPORAL_UI_PORT}` : '(your Temporal cluster\'s UI)';
  console.log(`
durachat is running
  API          http://${config.HOST}:${config.PORT}   (health: /health)
  Temporal UI  ${temporalUi}
  Temporal     ${config.TEMPORAL_ADDRESS}  namespace ${config.TEMPORAL_NAMESPACE}, task queue ${config.TEMPORAL_TASK_QUEUE}
  MongoDB      ${config.MONGO_URI.replace(/\/\/[^@/]*@/, '//***@')}
  Redis        ${config.REDIS_URI.replace(/\/\/[^@/]*@/, '//***@')}
  Logs         ${logDirectory}
Press Ctrl-C to stop.`);
} catch (error) {
  console.error(`[stack] ${(error as Error).message}`);
  await stopAll('start-up failed', 1);
}
