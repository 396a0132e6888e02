/** The demo endpoint's model server, started by `npm start` (see workers/demo-provider/). */
import { loadConfigOrExit } from '../shared/config.ts';
import { startFakeProvider } from './demo-provider/openai-compatible-server.ts';

const config = loadConfigOrExit();
const provider = await startFakeProvider({ port: config.DEMO_PROVIDER_PORT });
console.log(`demo provider (OpenAI-compatible) listening on ${provider.url}`);
const stop = () => void provider.close().then(() => process.exit(0));
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
