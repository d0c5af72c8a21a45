;; The held source's mix as WebAssembly (see held-source.ts for why): out = a * s + b * n over
;; float32 arrays, two float64 lanes at a time. Each product and the sum are float64 and only the
;; sum is rounded to float32, as JavaScript's `a * s[i] + b * n[i]` stored in a Float32Array is, so
;; the two give the same bits. The memory is the caller's (one per pass, sized to its latent).
(module
  (import "held" "memory" (memory 1))

  ;; mix(s, n, out, count, a, b): count float32 values from byte offsets s, n and out on.
  (func (export "mix") (param $s i32) (param $n i32) (param $out i32) (param $count i32) (param $a f64) (param $b f64)
    (local $end i32) (local $vs v128) (local $vn v128) (local $va v128) (local $vb v128)
    (local.set $va (f64x2.splat (local.get $a)))
    (local.set $vb (f64x2.splat (local.get $b)))
    (local.set $end (i32.add (local.get $out) (i32.shl (local.get $count) (i32.const 2))))
    ;; Four values a round: the low two and the high two (moved low) each promoted to float64.
    (block $tail
      (loop $quads
        (br_if $tail (i32.gt_u (i32.add (local.get $out) (i32.const 16)) (local.get $end)))
        (local.set $vs (v128.load (local.get $s)))
        (local.set $vn (v128.load (local.get $n)))
        (v128.store (local.get $out)
          (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
            (f32x4.demote_f64x2_zero
              (f64x2.add
                (f64x2.mul (local.get $va) (f64x2.promote_low_f32x4 (local.get $vs)))
                (f64x2.mul (local.get $vb) (f64x2.promote_low_f32x4 (local.get $vn)))))
            (f32x4.demote_f64x2_zero
              (f64x2.add
                (f64x2.mul (local.get $va)
                  (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $vs) (local.get $vs))))
                (f64x2.mul (local.get $vb)
                  (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $vn) (local.get $vn))))))))
        (local.set $s (i32.add (local.get $s) (i32.const 16)))
        (local.set $n (i32.add (local.get $n) (i32.const 16)))
        (local.set $out (i32.add (local.get $out) (i32.const 16)))
        (br $quads)))
    (block $done
      (loop $ones
        (br_if $done (i32.ge_u (local.get $out) (local.get $end)))
        (f32.store (local.get $out)
          (f32.demote_f64
            (f64.add
              (f64.mul (local.get $a) (f64.promote_f32 (f32.load (local.get $s))))
              (f64.mul (local.get $b) (f64.promote_f32 (f32.load (local.get $n)))))))
        (local.set $s (i32.add (local.get $s) (i32.const 4)))
        (local.set $n (i32.add (local.get $n) (i32.const 4)))
        (local.set $out (i32.add (local.get $out) (i32.const 4)))
        (br $ones))))
)
