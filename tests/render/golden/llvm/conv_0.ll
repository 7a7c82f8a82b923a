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

attributes #1 = { nounwind "frame-pointer"="none" }
define void @conv_0(ptr %p0, ptr %p1, ptr %p2, i32 %start, i32 %end) #1 {
entry:
  %l12.addr = alloca i32
  %l15.addr = alloca i32
  %l19.addr = alloca i32
  %acc21 = alloca float
  %l22.addr = alloca i32
  %l26.addr = alloca i32
  %l32.addr = alloca i32
  br label %body0
body0:
  store i32 %start, ptr %l12.addr
  br label %head12
head12:
  %l12 = load i32, ptr %l12.addr
  %cond12 = icmp slt i32 %l12, %end
  br i1 %cond12, label %loop12, label %exit12
loop12:
  %t1 = mul i32 %l12, 64
  %t2 = mul i32 %l12, 27
  store i32 0, ptr %l15.addr
  br label %head15
head15:
  %l15 = load i32, ptr %l15.addr
  %cond15 = icmp slt i32 %l15, 8
  br i1 %cond15, label %loop15, label %exit15
loop15:
  %t3 = mul i32 %l15, 8
  %t4 = add i32 %t1, %t3
  %t5 = mul i32 %l15, 10
  store i32 0, ptr %l19.addr
  br label %head19
head19:
  %l19 = load i32, ptr %l19.addr
  %cond19 = icmp slt i32 %l19, 8
  br i1 %cond19, label %loop19, label %exit19
loop19:
  %t6 = add i32 %t4, %l19
  store float 0x0000000000000000, ptr %acc21
  store i32 0, ptr %l22.addr
  br label %head22
head22:
  %l22 = load i32, ptr %l22.addr
  %cond22 = icmp slt i32 %l22, 3
  br i1 %cond22, label %loop22, label %exit22
loop22:
  %t7 = mul i32 %l22, 100
  %t8 = mul i32 %l22, 9
  %t9 = add i32 %t2, %t8
  store i32 0, ptr %l26.addr
  br label %head26
head26:
  %l26 = load i32, ptr %l26.addr
  %cond26 = icmp slt i32 %l26, 3
  br i1 %cond26, label %loop26, label %exit26
loop26:
  %t10 = mul i32 %l26, 10
  %t11 = add i32 %t7, %t10
  %t12 = add i32 %t11, %t5
  %t13 = mul i32 %l26, 3
  %t14 = add i32 %t9, %t13
  store i32 0, ptr %l32.addr
  br label %head32
head32:
  %l32 = load i32, ptr %l32.addr
  %cond32 = icmp slt i32 %l32, 3
  br i1 %cond32, label %loop32, label %exit32
loop32:
  %t15 = add i32 %t12, %l32
  %t16 = add i32 %t15, %l19
  %t18 = getelementptr inbounds float, ptr %p1, i32 %t16
  %t17 = load float, ptr %t18
  %t20 = add i32 %t14, %l32
  %t22 = getelementptr inbounds float, ptr %p2, i32 %t20
  %t21 = load float, ptr %t22
  %t24 = fmul float %t17, %t21
  %t25 = load float, ptr %acc21
  %t26 = fadd float %t25, %t24
  store float %t26, ptr %acc21
  %t27 = add nsw i32 %l32, 1
  store i32 %t27, ptr %l32.addr
  br label %head32
exit32:
  %t28 = add nsw i32 %l26, 1
  store i32 %t28, ptr %l26.addr
  br label %head26
exit26:
  %t29 = add nsw i32 %l22, 1
  store i32 %t29, ptr %l22.addr
  br label %head22
exit22:
  %t30 = load float, ptr %acc21
  %t31 = fcmp olt float 0x0000000000000000, %t30
  %t32 = load float, ptr %acc21
  %t33 = load float, ptr %acc21
  %t34 = fcmp une float %t32, %t33
  %t35 = or i1 %t31, %t34
  %t36 = load float, ptr %acc21
  %t37 = select i1 %t35, float %t36, float 0x0000000000000000
  %t39 = getelementptr inbounds float, ptr %p0, i32 %t6
  store float %t37, ptr %t39
  %t40 = add nsw i32 %l19, 1
  store i32 %t40, ptr %l19.addr
  br label %head19
exit19:
  %t41 = add nsw i32 %l15, 1
  store i32 %t41, ptr %l15.addr
  br label %head15
exit15:
  %t42 = add nsw i32 %l12, 1
  store i32 %t42, ptr %l12.addr
  br label %head12
exit12:
  ret void
}
