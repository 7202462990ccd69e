import { describe, expect, it } from 'vitest';
import { streamCovers, subjectCovers, subjectTemplateProblem, subjectToken, SubjectTemplate } from '../../src/sinks/jetstream-subject.js';

describe('subject templates', () => {
  it('turns an id into one token: . * > and whitespace become _, empty becomes _', () => {
    expect(subjectToken('a.b*c>d e\tf\ng')).toBe('a_b_c_d_e_f_g');
    expect(subjectToken('')).toBe('_');
    expect(subjectToken('日本語-🚀')).toBe('日本語-🚀');
  });

  it('expands {source} and {dest}, and leaves a fixed subject as it is', () => {
    const t = new SubjectTemplate('pkt.{source}.to.{dest}');
    expect(t.fixed).toBe(false);
    expect(t.expand('gw.1', '')).toBe('pkt.gw_1.to._');
    expect(t.pattern).toBe('pkt.*.to.*');
    const fixed = new SubjectTemplate('pkt.ingest');
    expect(fixed.fixed).toBe(true);
    expect(fixed.expand('x', 'y')).toBe('pkt.ingest');
  });

  it('names what is wrong with a template', () => {
    expect(subjectTemplateProblem('pkt.{source}.{dest}')).toBeNull();
    expect(subjectTemplateProblem('pkt.>')).toMatch(/wildcard/u);
    expect(subjectTemplateProblem('.pkt')).toMatch(/empty token/u);
    expect(subjectTemplateProblem('pkt.{source}{dest}')).toMatch(/two placeholders/u);
  });

  it('checks that a stream subject covers every subject a template can produce', () => {
    expect(subjectCovers('pkt.>', 'pkt.*.x')).toBe(true);
    expect(subjectCovers('pkt.*', 'pkt.*')).toBe(true);
    expect(subjectCovers('pkt.*', 'pkt.*.x')).toBe(false);
    expect(subjectCovers('pkt.a', 'pkt.*')).toBe(false);
    expect(subjectCovers('pkt.>', 'pkt')).toBe(false);
    expect(subjectCovers('>', 'pkt')).toBe(true);
    expect(streamCovers(['other.>', 'pkt.*.*'], new SubjectTemplate('pkt.{source}.{dest}'))).toBe(true);
    expect(streamCovers(['pkt.in'], new SubjectTemplate('pkt.{source}'))).toBe(false);
  });
});
