;; The noise stream's two hot loops as WebAssembly (see noise-kernel.ts for why). Memory layout:
;; bytes 0 .. 16383: the stream's 4096 buffered Philox words; 16384 ..: the ziggurat's inner
;; bounds, 17408 ..: its layer widths (128 float64 each); 65536 .. 131071: normals made.
(module
  (memory (export "memory") 2)

  ;; philox(out, count, low, high, seed): Philox4x32-10 (Random123's philox4x32) of the counters
  ;; (low, high, 0, 0) + 0, 1, .. count - 1 (a 64-bit count in the first two words) under the key
  ;; (seed, 0), 4 words a block from byte `out` on. i64.mul gives each round's 64-bit product exactly.
  (func (export "philox") (param $out i32) (param $count i32) (param $low i32) (param $high i32) (param $seed i32)
    (local $end i32) (local $round i32)
    (local $c0 i32) (local $c1 i32) (local $c2 i32) (local $c3 i32) (local $k0 i32) (local $k1 i32)
    (local $p0 i64) (local $p1 i64)
    (local.set $end (i32.add (local.get $out) (i32.shl (local.get $count) (i32.const 4))))
    (block $done
      (loop $blocks
        (br_if $done (i32.ge_u (local.get $out) (local.get $end)))
        (local.set $c0 (local.get $low))
        (local.set $c1 (local.get $high))
        (local.set $c2 (i32.const 0))
        (local.set $c3 (i32.const 0))
        (local.set $k0 (local.get $seed))
        (local.set $k1 (i32.const 0))
        (local.set $round (i32.const 10))
        (loop $rounds
          (local.set $p0 (i64.mul (i64.extend_i32_u (local.get $c0)) (i64.const 0xD2511F53)))
          (local.set $p1 (i64.mul (i64.extend_i32_u (local.get $c2)) (i64.const 0xCD9E8D57)))
          (local.set $c0
            (i32.xor (i32.xor (i32.wrap_i64 (i64.shr_u (local.get $p1) (i64.const 32))) (local.get $c1)) (local.get $k0)))
          (local.set $c1 (i32.wrap_i64 (local.get $p1)))
          (local.set $c2
            (i32.xor (i32.xor (i32.wrap_i64 (i64.shr_u (local.get $p0) (i64.const 32))) (local.get $c3)) (local.get $k1)))
          (local.set $c3 (i32.wrap_i64 (local.get $p0)))
          (local.set $k0 (i32.add (local.get $k0) (i32.const 0x9E3779B9)))
          (local.set $k1 (i32.add (local.get $k1) (i32.const 0xBB67AE85)))
          (br_if $rounds (local.tee $round (i32.sub (local.get $round) (i32.const 1)))))
        (i32.store offset=0 (local.get $out) (local.get $c0))
        (i32.store offset=4 (local.get $out) (local.get $c1))
        (i32.store offset=8 (local.get $out) (local.get $c2))
        (i32.store offset=12 (local.get $out) (local.get $c3))
        (local.set $out (i32.add (local.get $out) (i32.const 16)))
        (local.set $low (i32.add (local.get $low) (i32.const 1)))
        (if (i32.eqz (local.get $low)) (then (local.set $high (i32.add (local.get $high) (i32.const 1)))))
        (br $blocks))))

  ;; normals(out, count, index) -> written: the ziggurat's common case, one buffered word per normal
  ;; from word `index` on: layer = word & 127, value = word >> 7 (signed), x = value * width[layer]
  ;; when |value| < inner[layer], as float32 at byte `out` on. Stops after `count` normals, at the
  ;; end of the buffer, or at a word outside its layer's box (left for the caller's edge and tail
  ;; steps); returns how many it wrote, which is also how many words it used.
  (func (export "normals") (param $out i32) (param $count i32) (param $index i32) (result i32)
    (local $written i32) (local $word i32) (local $layer i32) (local $value f64)
    (block $stop
      (loop $next
        (br_if $stop (i32.ge_u (local.get $written) (local.get $count)))
        (br_if $stop (i32.ge_u (local.get $index) (i32.const 4096)))
        (local.set $word (i32.load (i32.shl (local.get $index) (i32.const 2))))
        (local.set $layer (i32.shl (i32.and (local.get $word) (i32.const 127)) (i32.const 3)))
        (local.set $value (f64.convert_i32_s (i32.shr_s (local.get $word) (i32.const 7))))
        (br_if $stop (i32.eqz (f64.lt (f64.abs (local.get $value)) (f64.load offset=16384 (local.get $layer)))))
        (f32.store
          (i32.add (local.get $out) (i32.shl (local.get $written) (i32.const 2)))
          (f32.demote_f64 (f64.mul (local.get $value) (f64.load offset=17408 (local.get $layer)))))
        (local.set $written (i32.add (local.get $written) (i32.const 1)))
        (local.set $index (i32.add (local.get $index) (i32.const 1)))
        (br $next)))
    (local.get $written))
)
