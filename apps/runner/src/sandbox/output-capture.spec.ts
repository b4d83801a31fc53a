import { OutputCapture } from './output-capture';

describe('OutputCapture', () => {
  it('keeps everything under the cap', () => {
    const c = new OutputCapture(10);
    c.push(Buffer.from('hello '));
    c.push(Buffer.from('you'));
    expect(c.text()).toBe('hello you');
    expect(c.truncated).toBe(false);
    expect(c.total).toBe(9);
  });

  it('keeps the first bytes up to the cap, counts the rest and says truncated', () => {
    const c = new OutputCapture(4);
    c.push(Buffer.from('abc'));
    c.push(Buffer.from('defgh'));
    c.push(Buffer.from('ij'));
    expect(c.text()).toBe('abcd');
    expect(c.total).toBe(10);
    expect(c.truncated).toBe(true);
  });

  it('turns invalid UTF-8 and a character cut by the cap into U+FFFD', () => {
    const c = new OutputCapture(4);
    c.push(Buffer.from([0x61, 0xff, 0x62]));
    c.push(Buffer.from('é')); // two bytes, only one fits
    expect(c.text()).toBe('a\uFFFDb\uFFFD');
  });

  it('works as a writable stream', async () => {
    const c = new OutputCapture(100);
    const w = c.writable();
    await new Promise<void>((r) => w.write(Buffer.from('x'), () => r()));
    expect(c.text()).toBe('x');
  });
});
