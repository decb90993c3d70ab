import { kernelsByRoot, loadMagic, loadShell } from '../model/kernels';

describe('kernelsByRoot', () => {
  it('maps each root hash to the kernel made for it, ignoring other kernels', () => {
    const found = kernelsByRoot({
      python3: { name: 'python3', display_name: 'Python 3', metadata: {} },
      'spack-b': {
        name: 'spack-b',
        display_name: 'b',
        metadata: { spackcache: { roots: [{ hash: 'bbb' }, { hash: 'ccc' }] } }
      },
      'spack-a': {
        name: 'spack-a',
        display_name: 'a',
        metadata: { spackcache: { roots: [{ hash: 'ccc' }] } }
      }
    });
    expect([...found.keys()].sort()).toEqual(['bbb', 'ccc']);
    expect(found.get('bbb')).toEqual({ name: 'spack-b', displayName: 'b' });
    // two kernels for one build: the first by name, every time
    expect(found.get('ccc')?.name).toBe('spack-a');
  });

  it('is empty without specs', () => {
    expect(kernelsByRoot(null).size).toBe(0);
    expect(kernelsByRoot({ x: undefined }).size).toBe(0);
  });
});

describe('load lines', () => {
  it('name the exact build', () => {
    expect(loadMagic('zlib', '1.3', 'abc')).toBe('%spack load zlib@1.3/abc');
    expect(loadShell('zlib', '1.3', 'abc')).toBe(
      'eval "$(spackcache load --sh zlib@1.3/abc)"'
    );
  });
});
