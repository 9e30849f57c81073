import { describeEachEngine, freshDatabase } from './support/engines';
import { startTestApp, TestApp } from './support/test-app';
import { WebClient } from './support/web-client';

const PASSWORD = 'a long enough passphrase';
const FIREFOX_MAC = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:133.0) Gecko/20100101 Firefox/133.0';
const SAFARI_IPHONE = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1';

/** The rows of one list on /account (sessions or tokens): what a reader sees of each device or token. */
const section = (html: string, heading: string) => html.split(`<h2>${heading}</h2>`)[1]?.split('</section>')[0] ?? '';

describeEachEngine('the account page', (engine) => {
  let t: TestApp;
  let owner: WebClient;

  beforeAll(async () => {
    t = await startTestApp(await freshDatabase(engine));
    owner = new WebClient(t.url);
    await owner.signup('owner@example.com', PASSWORD, 'Owner');
  });
  afterAll(() => t.close());

  const signInFrom = async (userAgent: string) => {
    const device = new WebClient(t.url);
    await device.get('/login');
    expect((await device.submit('/login', { email: 'owner@example.com', password: PASSWORD }, { 'user-agent': userAgent })).status).toBe(303);
    return device;
  };

  it('names signed-in devices by browser and system, keeping what the browser sent for the curious', async () => {
    await signInFrom(FIREFOX_MAC);
    await signInFrom(SAFARI_IPHONE);
    await signInFrom('curl/8.5.0');
    const page = await owner.get('/account');
    const devices = section(page.text, 'Signed-in devices');
    expect(devices).toContain(`<strong title="${FIREFOX_MAC}">Firefox 133 on macOS</strong>`);
    expect(devices).toContain('>Safari 17 on iOS 17.5</strong>');
    expect(devices).toContain('<strong title="curl/8.5.0">An unknown browser</strong>');
    expect(devices).toContain(
      `<details class="small muted"><summary>As the browser describes itself</summary><code class="user-agent">${FIREFOX_MAC}</code></details>`,
    );
    const ja = await owner.get('/account', { 'accept-language': 'ja' });
    expect(section(ja.text, 'サインイン中の端末')).toContain('>macOS の Firefox 133</strong>');
  });
});
