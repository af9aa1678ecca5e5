// Browser test of enrolment by scanning the QR code the console shows ({"server", "code"}, PROTOCOL §8.4):
//   - a browser without BarcodeDetector (Chromium on Linux, old Android browsers) offers no scan button
//     and says, in the enumerator's language, to type the code; typing works as before;
//   - with a BarcodeDetector and a camera (stubbed here: a canvas stream as the camera, a detector that
//     finds the code on its third look) the back camera is asked for, the code is read, typed in and the
//     enrolment starts; the camera is switched off afterwards;
//   - a QR code of another server is not used (the message names it), and a refused camera says so;
//     neither leaves the camera on.
import assert from 'node:assert/strict';
import * as H from './harness.mjs';
import { TABLET, PHONE, step, tablet } from './harness.mjs';

const POLL = { polling: 250 };

// A camera (a canvas stream) and a QR detector that sees `window.__qr` from its third look on.
function fakeCamera() {
  window.__camera = { asked: [], tracks: [], looks: 0 };
  window.__qr = null;
  window.__denyCamera = false;
  class FakeDetector {
    constructor(options) { window.__camera.formats = options && options.formats; }
    static async getSupportedFormats() { return ['qr_code', 'ean_13']; }
    async detect(source) {
      if (!(source instanceof HTMLVideoElement) || !source.srcObject) throw new TypeError('no picture');
      window.__camera.looks++;
      return window.__qr && window.__camera.looks >= 3 ? [{ rawValue: window.__qr, format: 'qr_code' }] : [];
    }
  }
  window.BarcodeDetector = FakeDetector;
  const md = navigator.mediaDevices || {};
  md.getUserMedia = async (constraints) => {
    window.__camera.asked.push(constraints);
    if (window.__denyCamera) throw new DOMException('Permission denied', 'NotAllowedError');
    const canvas = document.createElement('canvas');
    canvas.width = 320;
    canvas.height = 240;
    const g = canvas.getContext('2d');
    const paint = () => { g.fillStyle = '#' + Math.floor(Math.random() * 0xffffff).toString(16).padStart(6, '0'); g.fillRect(0, 0, 320, 240); };
    paint();
    setInterval(paint, 100);
    const stream = canvas.captureStream(10);
    window.__camera.tracks.push(...stream.getVideoTracks());
    return stream;
  };
  if (!navigator.mediaDevices) Object.defineProperty(navigator, 'mediaDevices', { value: md });
}

const cameraOff = (page) => page.evaluate(() => window.__camera.tracks.every((t) => t.readyState === 'ended'));

async function main() {
  step('starting aktsyncd ' + H.binary);
  const admin = await H.startWithForms(['so1_interethnic_survey']);
  await H.addEnumerator(admin, 'enis', [{ municipality: 'gracanice', community: 'serb', component: 'SO1' }]);
  await H.launchBrowser();

  // No BarcodeDetector: the note in Albanian, no scan button; the typed code enrols.
  const A = await tablet(admin, 'enis', 'tablet-no-scan', PHONE, { noGoto: true });
  await A.context.addInitScript(() => { delete window.BarcodeDetector; });
  await A.page.goto(H.base + '/app/');
  await A.page.locator('#code').waitFor();
  await A.page.selectOption('#lang', 'sq');
  await A.page.waitForFunction(() => /nuk mund të lexojë kode QR/.test(document.getElementById('scan-msg').textContent), undefined, POLL);
  assert.equal(await A.page.locator('#scan').count(), 0, 'no scan button without a detector');
  await H.shot(A.page, 'qr-unsupported-phone');
  await H.enrol(A, A.code);
  step('without BarcodeDetector: typing the code, told so in Albanian');

  // A detector and a camera: the scan enrols.
  const B = await tablet(admin, 'enis', 'tablet-scan', TABLET, { noGoto: true });
  await B.context.addInitScript(fakeCamera);
  await B.page.goto(H.base + '/app/');
  await B.page.locator('#scan').waitFor();
  await H.checkAccessible(B.page, 'enrolment with scanning');

  // A QR code of another server first: not used, and said so.
  await B.page.evaluate(() => { window.__qr = JSON.stringify({ server: 'https://other.example', code: 'abcd-efgh-ijkl-mnop' }); });
  await B.page.click('#scan');
  await B.page.waitForFunction(() => /another server \(https:\/\/other\.example\)/.test(document.getElementById('scan-msg').textContent), undefined, POLL);
  assert.equal(await B.page.inputValue('#code'), '');
  assert.ok(await cameraOff(B.page), 'the camera is off again');
  // The camera refused.
  await B.page.evaluate(() => { window.__denyCamera = true; window.__camera.looks = 0; });
  await B.page.click('#scan');
  await B.page.waitForFunction(() => /camera was not allowed/.test(document.getElementById('scan-msg').textContent), undefined, POLL);
  assert.equal(await B.page.locator('#scan').isVisible(), true, 'scanning can be tried again');
  step('a QR code of another server and a refused camera: told so, the camera off');

  // The console's QR code of this server.
  await B.page.evaluate((code) => {
    window.__denyCamera = false;
    window.__camera.looks = 0;
    window.__qr = JSON.stringify({ server: location.origin, code });
  }, B.code);
  await B.page.click('#scan');
  await B.page.locator('#scan-video').waitFor();
  await H.shot(B.page, 'qr-scanning');
  await B.page.locator('#new-record').waitFor();
  await H.synced(B);
  const cam = await B.page.evaluate(() => window.__camera);
  assert.deepEqual(cam.formats, ['qr_code']);
  assert.equal(cam.asked.length, 3);
  assert.deepEqual(cam.asked[2].video.facingMode, { ideal: 'environment' }, 'the back camera');
  assert.ok(cam.looks >= 3);
  assert.ok(await cameraOff(B.page), 'the camera is off after the scan');
  assert.match(await B.page.locator('#status').textContent(), /tablet-scan/);
  assert.deepEqual(A.errors, []);
  assert.deepEqual(B.errors, []);
  step('the scanned code enrolled the tablet');
}

await H.run(main);
