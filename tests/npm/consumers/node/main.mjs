// The Node consumer: the README's Node example with URL sources, a catalog id of the local
// catalog (./models/local-catalog.json) and bytes. Arguments: the Whisper weights' URL, the chat
// model's URL, a WAV file, a typed question, the local catalog's Whisper id. Prints JSON.
import { readFile } from 'node:fs/promises';
import { ChatModel, SottoError, Transcriber, Voice } from 'sotto';

const [asrUrl, llmUrl, wavPath, question, catalogId] = process.argv.slice(2);
const downloads = new Set();
const onProgress = (p) => downloads.add(p.model);

const asr = await Transcriber.create({ model: asrUrl, onProgress });
const transcript = await asr.transcribe(wavPath);
const fromCatalog = await Transcriber.create({ model: catalogId, fullWindow: true, onProgress });
const fullWindow = await fromCatalog.transcribe(await readFile(wavPath));

const chat = await ChatModel.create({ model: llmUrl, systemPrompt: 'You are a helpful assistant. Keep answers short.', generation: { temperature: 0 }, onProgress });
const pieces = [];
const reply = await chat.reply(question, { onToken: (piece) => pieces.push(piece) });
await chat.reset();
const again = await chat.reply(question);

const voice = await Voice.create({ sampleRate: 16000 });
const wav = await voice.toWav('Hello from Sotto.');

let unknown = null;
try {
  await ChatModel.create({ model: 'no-such-model' });
} catch (err) {
  unknown = { sotto: err instanceof SottoError, code: err.code, message: err.message };
}
console.log(JSON.stringify({ transcript, fullWindow, reply, pieces, again, wavBytes: wav.length, downloads: [...downloads], unknown }));
