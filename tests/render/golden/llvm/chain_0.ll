define internal float @bf16_to_f32(i16 %b) #0 {
  %w = zext i16 %b to i32
  %s = shl i32 %w, 16
  %f = bitcast i32 %s to float
  ret float %f
}
define internal i16 @f32_to_bf16(float %f) #0 {
  %u = bitcast float %f to i32
  %a = and i32 %u, 2147483647
  %isnan = icmp ugt i32 %a, 2139095040
  %h = lshr i32 %u, 16
  %nan = or i32 %h, 64
  %lsb = and i32 %h, 1
  %r0 = add i32 %u, 32767
  %r1 = add i32 %r0, %lsb
  %r = lshr i32 %r1, 16
  %res = select i1 %isnan, i32 %nan, i32 %r
  %t = trunc i32 %res to i16
  ret i16 %t
}
attributes #0 = { alwaysinline nounwind }

declare float @llvm.exp.f32(float)
attributes #1 = { nounwind "frame-pointer"="none" }
define void @chain_0(ptr %p0, ptr %p1, ptr %p2, i32 %start, i32 %end) #1 {
entry:
  %l6.addr = alloca i32
  br label %body0
body0:
  store i32 %start, ptr %l6.addr
  br label %head6
head6:
  %l6 = load i32, ptr %l6.addr
  %cond6 = icmp slt i32 %l6, %end
  br i1 %cond6, label %loop6, label %exit6
loop6:
  %t2 = getelementptr inbounds float, ptr %p1, i32 %l6
  %t1 = load float, ptr %t2
  %t4 = fmul float %t1, 0x4000000000000000
  %t5 = call float @llvm.exp.f32(float %t1)
  %t6 = icmp eq i32 48, 0
  %t7 = icmp eq i32 48, -1
  %t8 = or i1 %t6, %t7
  %t9 = select i1 %t8, i32 1, i32 48
  %t10 = srem i32 %l6, %t9
  %t11 = select i1 %t7, i32 0, i32 %t10
  %t12 = select i1 %t6, i32 0, i32 %t11
  %t14 = getelementptr inbounds float, ptr %p2, i32 %t12
  %t13 = load float, ptr %t14
  %t16 = fmul float %t5, %t13
  %t17 = fadd float %t4, %t16
  %t19 = getelementptr inbounds float, ptr %p0, i32 %l6
  store float %t17, ptr %t19
  %t20 = add nsw i32 %l6, 1
  store i32 %t20, ptr %l6.addr
  br label %head6
exit6:
  ret void
}
