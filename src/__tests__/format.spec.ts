import {
  displaySpec,
  humanBytes,
  percent,
  shortSpec,
  targetsSummary,
  variantsText
} from '../model/format';

describe('format', () => {
  it('prints sizes like the CLI', () => {
    expect(humanBytes(999)).toBe('999 B');
    expect(humanBytes(3417)).toBe('3.4 KB');
    expect(humanBytes(81827528704)).toBe('81.8 GB');
    expect(humanBytes(null)).toBe('?');
  });

  it('shortens the host target list', () => {
    expect(targetsSummary(['zen3', 'zen2', 'x86_64_v3', 'x86_64_v2'])).toBe(
      'zen3, zen2, x86_64_v3 …'
    );
    expect(targetsSummary(['x86_64'])).toBe('x86_64');
  });

  it('spells variants the Spack way, without build_system', () => {
    expect(
      variantsText({
        build_system: 'cmake',
        shared: true,
        mpi: false,
        lang: ['c', 'cxx']
      })
    ).toBe('+shared ~mpi lang=c,cxx');
  });

  it('cuts hashes to seven characters', () => {
    expect(shortSpec('zlib', '1.3', 'abcdefghijk')).toBe('zlib@1.3/abcdefg');
    expect(
      displaySpec('demo-tool@1.0.0/xtcna5sqmspfwhsqofejvizyfrighmlk')
    ).toBe('demo-tool@1.0.0/xtcna5s');
    expect(displaySpec('zlib@1.3 +pic')).toBe('zlib@1.3 +pic');
  });

  it('clamps percentages', () => {
    expect(percent(0.504)).toBe(50);
    expect(percent(2)).toBe(100);
    expect(percent(Number.NaN)).toBe(0);
  });
});
